import Glibc
import Daemonize
import TestSupport
import Testing

/// `swiftd stop` and what happens when the supervisor dies.
@Suite(.hangLimit) struct StopTests {
    @Test func stopTakesChildrenWithIt() throws {
        try withHarness("stop-children") { h throws in
            let children = h.scratch.file("children")
            #expect(try h.startService("web", service: ["--fork", "3", "--children-file", children]).code == 0)
            let pids = h.text("children").split(separator: "\n").compactMap { pid_t($0) }
            #expect(pids.count == 3)
            let main = try #require(h.pid("web"))
            let stop = try h.swiftd(["stop", "web"])
            #expect(stop.code == 0, "\(stop)")
            #expect(stop.stdout == "web stopped\n")
            for pid in pids + [main] { #expect(!h.isAlive(pid), "pid \(pid) left behind") }
            #expect(h.scratch.markedProcesses().isEmpty)
            #expect(PIDFile.status(at: h.pidFile("web")) == .absent)
            #expect(try h.swiftd(["status", "web"]).code == 3)
        }
    }

    @Test func serviceIgnoringTermIsKilledAfterTheTimeout() throws {
        try withHarness("stop-ignore") { h throws in
            let signals = h.scratch.file("signals")
            #expect(try h.startService("stubborn", ["--stop-timeout", "300ms", "--ready", "fd:9"], service: ["--ignore-term", "--record-signals", signals, "--fd-ready", "9"]).code == 0)
            let pid = try #require(h.pid("stubborn"))
            let stop = try h.swiftd(["stop", "stubborn"])
            #expect(stop.code == 0, "\(stop)")
            #expect(!h.isAlive(pid))
            #expect(h.text("signals").contains("TERM"))
            #expect(h.log("stubborn").contains("sending KILL"))
        }
    }

    @Test func stopSignalAndTimeoutCanBeGivenToStop() throws {
        try withHarness("stop-override") { h throws in
            let signals = h.scratch.file("signals")
            #expect(try h.startService("s", ["--stop-timeout", "1h", "--ready", "fd:9"], service: ["--ignore-term", "--record-signals", signals, "--fd-ready", "9"]).code == 0)
            let stop = try h.swiftd(["stop", "s", "--signal", "USR1", "--timeout", "200ms"])
            #expect(stop.code == 0, "\(stop)")
            #expect(h.text("signals").contains("USR1"))
            #expect(!h.text("signals").contains("TERM"))
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// The signals a fixture recorded, without the CONT that follows each.
    func received(_ h: Harness, _ file: String) -> [String] {
        h.text(file).split(separator: "\n").map(String.init).filter { $0 != "CONT" }
    }

    @Test func aStopScheduleSendsEachSignalInTurnThenKill() throws {
        try withHarness("stop-schedule") { h throws in
            let signals = h.scratch.file("signals")
            #expect(try h.startService("s", ["--stop-signal", "USR1/200ms/TERM/200ms/KILL", "--ready", "fd:9"],
                                       service: ["--ignore-term", "--record-signals", signals, "--fd-ready", "9"]).code == 0)
            #expect(h.state("s")?.configuration.stopSchedule.description == "USR1/200ms/TERM/200ms/KILL")
            let pid = try #require(h.pid("s"))
            let stop = try h.swiftd(["stop", "s"])
            #expect(stop.code == 0, "\(stop)")
            #expect(received(h, "signals") == ["USR1", "TERM"], "each signal once, in order")
            #expect(!h.isAlive(pid))
            #expect(h.log("s").contains("s did not stop within 200ms: sending TERM"), "\(h.log("s"))")
            #expect(h.log("s").contains("s did not stop within 200ms: sending KILL"))
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test(arguments: ["main", "group"])
    func killModeMainSignalsTheMainProcessFirstAndTheRestWhenTheScheduleEscalates(_ mode: String) throws {
        try withHarness("stop-kill-mode") { h throws in
            let signals = h.scratch.file("signals")
            let children = h.scratch.file("children")
            #expect(try h.startService("s", ["--kill-mode", mode, "--stop-signal", "USR1/300ms/TERM", "--ready", "fd:9"],
                                       service: ["--record-signals", signals, "--fork", "2", "--children-record", children, "--fd-ready", "9"]).code == 0)
            let stop = try h.swiftd(["stop", "s"])
            #expect(stop.code == 0, "\(stop)")
            #expect(received(h, "signals") == ["USR1", "TERM"])
            // Each child records what it got: with kill-mode main, TERM alone (the escalation).
            let got = h.text("children").split(separator: "\n")
            #expect(got.filter { $0 == "TERM" }.count == 2, "\(got)")
            #expect(got.filter { $0 == "USR1" }.count == (mode == "main" ? 0 : 2), "\(got)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func stopTimeoutBringsAScheduleKillForward() throws {
        try withHarness("stop-schedule-timeout") { h throws in
            let signals = h.scratch.file("signals")
            #expect(try h.startService("s", ["--stop-signal", "USR1/1h/TERM/1h/KILL", "--ready", "fd:9"],
                                       service: ["--ignore-term", "--record-signals", signals, "--fd-ready", "9"]).code == 0)
            let stop = try h.swiftd(["stop", "s", "--timeout", "200ms"])
            #expect(stop.code == 0, "\(stop)")
            #expect(received(h, "signals") == ["USR1"], "KILL came at 200ms, before TERM was due")
            #expect(h.log("s").contains("s did not stop within 200ms: sending KILL"))
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func stoppingWhatIsNotRunningIsZero() throws {
        try withHarness("stop-none") { h throws in
            let result = try h.swiftd(["stop", "nothing"])
            #expect(result.code == 0)
            #expect(result.stdout == "nothing is not running\n")
        }
    }

    @Test func killedSupervisorTakesItsServiceAlong() throws {
        try withHarness("stop-supervisor-killed") { h throws in
            let signals = h.scratch.file("signals")
            #expect(try h.startService("web", ["--ready", "fd:9"], service: ["--record-signals", signals, "--fd-ready", "9"]).code == 0)
            let pid = try #require(h.pid("web"))
            let supervisor = try #require(h.lockHolder("web"))
            kill(supervisor, SIGKILL)
            #expect(eventually { !h.isAlive(pid) })
            #expect(h.text("signals").contains("TERM"), "the service got its stop signal")
            let status = try h.swiftd(["status", "web"])
            #expect(status.code == 1, "\(status)")
            #expect(status.stdout.contains("dead"))
            #expect(h.scratch.markedProcesses().isEmpty)
            let again = try h.startService("web")
            #expect(again.code == 0, "\(again)")
        }
    }
}
