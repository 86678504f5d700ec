import Glibc
import Daemonize
import TestSupport
import Testing

/// `HostileUserPathTests.aRacingUserNeverGetsASocketsModeOrOwnerOntoAnotherFile`
/// at 300 rounds a bait. Runs in `make stress` (SWIFTD_STRESS=1), as root.
@Suite(.enabled(if: Environment.value("SWIFTD_STRESS") == "1", "set SWIFTD_STRESS=1 (make stress)"), .requires(.hostileUser),
       .hangLimit)
struct SocketRaceStressTests {
    @Test(arguments: [false, true])
    func threeHundredRacedStartsNeverReachAnotherFile(file: Bool) throws {
        try withUserHarness("stress-socket") { h, user throws in
            let outcome = try raceSocketFile(h, user, rounds: 300, file: file)
            #expect(outcome.problems.isEmpty, "\(outcome.problems)")
            #expect(outcome.exchanges > 0 && outcome.started > 0, "\(outcome)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }
}
