import Glibc
import Daemonize
import TestSupport
import Testing

/// The start/stop race at a scale past a minute: two starts against one stop,
/// 1,000 rounds. Runs in `make stress` (SWIFTD_STRESS=1), skipped otherwise.
@Suite(.enabled(if: Environment.value("SWIFTD_STRESS") == "1", "set SWIFTD_STRESS=1 (make stress)"), .hangLimit)
struct StartStopRaceTests {
    @Test func twoStartsAgainstOneStopAThousandTimes() throws {
        try withHarness("stress-race") { h throws in
            let problems = try raceStartAgainstStop(h, name: "r", rounds: 1000, starters: 2)
            #expect(problems.isEmpty, "\(problems.prefix(10))")
            #expect(try h.swiftd(["stop", "r"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }
}
