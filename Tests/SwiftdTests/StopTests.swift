import Glibc
import Daemonize
import TestSupport
import Testing

/// `swiftd stop` and what happens when the supervisor dies.
@Suite(.timeLimit(.minutes(5))) struct StopTests {
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
