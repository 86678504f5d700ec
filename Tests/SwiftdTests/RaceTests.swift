import Glibc
import Daemonize
import TestSupport
import Testing

/// Races (issue 7, scenario 1).
@Suite(.hangLimit) struct RaceTests {
    @Test func fiftyConcurrentStartsMakeOneService() throws {
        try withHarness("race50") { h throws in
            let starters = try (0..<50).map { _ in try h.spawnSwiftd(["start", "race", "--", h.fixturePath, "service"]) }
            let results = starters.map { $0.wait(timeout: 120) }
            for result in results { #expect(result.code == 0 && !result.timedOut, "\(result)") }
            #expect(results.filter { $0.stdout.contains(" started ") }.count == 1)
            let pid = try #require(h.pid("race"))
            #expect(results.filter { $0.stdout == "race is already running (pid \(pid))\n" }.count == 49, "\(results.map(\.stdout))")
            #expect(h.processes(named: "fixture") == [pid])
        }
    }

    @Test func startRacingStopTwoHundredTimes() throws {
        try withHarness("race-stop") { h throws in
            let problems = try raceStartAgainstStop(h, name: "r", rounds: 200)
            #expect(problems.isEmpty, "\(problems.prefix(10))")
            #expect(try h.swiftd(["stop", "r"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func statusProbesNeverMakeAStartFail() throws {
        try withHarness("race-probe") { h throws in
            let loop = "while :; do \(h.swiftdPath) status p \(h.directoryOptions.joined(separator: " ")) >/dev/null 2>&1; done"
            let probers = try (0..<2).map { _ in try Spawned.start("/bin/sh", ["-c", loop], environment: h.scratch.environment) }
            defer { for p in probers { kill(-p.pid, SIGKILL); _ = p.wait(timeout: 5) } }
            for round in 0..<25 {
                let start = try h.swiftd(["start", "p", "--min-uptime", "0", "--", h.fixturePath, "service"])
                #expect(start.code == 0 && start.stdout.contains(" started "), "round \(round): \(start)")
                #expect(try h.swiftd(["stop", "p"]).code == 0)
            }
        }
    }
}
