import Glibc
import Daemonize
import TestSupport
import Testing

/// `--no-supervise`: no resident swiftd; the service holds its own lock.
@Suite(.hangLimit) struct ExecModeTests {
    @Test func serviceHoldsItsOwnLockAndNoSwiftdStays() throws {
        try withHarness("exec") { h throws in
            let signals = h.scratch.file("signals")
            let start = try h.startService("x", ["--no-supervise", "--ready", "fd:9"], service: ["--print", "2", "--record-signals", signals, "--fd-ready", "9"])
            #expect(start.code == 0, "\(start)")
            let pid = try #require(h.pid("x"))
            #expect(start.stdout == "x started (pid \(pid))\n")
            #expect(h.lockHolder("x") == pid)
            #expect(ProcessTable.stat(of: pid)?.name == "fixture")
            #expect(ProcessTable.stat(of: pid)?.session == pid)
            #expect(h.scratch.markedProcesses() == [pid], "nothing but the service: \(h.scratch.markedProcesses())")
            #expect(eventually { h.log("x").contains("line 2 of 2") })

            let status = try h.swiftd(["status", "x", "--json"])
            #expect(status.code == 0)
            #expect(status.stdout.contains("\"mode\":\"exec\""))
            #expect(status.stdout.contains("\"supervisor_pid\":null"))

            #expect(try h.swiftd(["reload", "x"]).code == 0)
            #expect(eventually { h.text("signals").contains("HUP") })

            let restart = try h.swiftd(["restart", "x"])
            #expect(restart.code == 0, "\(restart)")
            let second = try #require(h.pid("x"))
            #expect(second != pid)
            #expect(h.lockHolder("x") == second)

            let stop = try h.swiftd(["stop", "x"])
            #expect(stop.code == 0, "\(stop)")
            #expect(!h.isAlive(second))
            #expect(h.scratch.markedProcesses().isEmpty)
            #expect(try h.swiftd(["status", "x"]).code == 3)
        }
    }

    @Test func childrenAreStoppedToo() throws {
        try withHarness("exec-children") { h throws in
            let children = h.scratch.file("children")
            #expect(try h.startService("x", ["--no-supervise", "--stop-timeout", "2s"], service: ["--fork", "2", "--children-file", children]).code == 0)
            let pids = h.text("children").split(separator: "\n").compactMap { pid_t($0) }
            #expect(pids.count == 2)
            #expect(try h.swiftd(["stop", "x"]).code == 0)
            for pid in pids { #expect(!h.isAlive(pid)) }
            #expect(PIDFile.status(at: h.pidFile("x")) == .absent)
        }
    }

    @Test func earlyDeathIsReported() throws {
        try withHarness("exec-early") { h throws in
            let start = try h.startService("x", ["--no-supervise", "--min-uptime", "2s"], service: ["--print", "1", "--exit", "4", "--after", "50"])
            #expect(start.code == 1, "\(start)")
            #expect(start.stderr.contains("exited with status 4"))
            #expect(start.stderr.contains("line 1 of 1"))
            #expect(h.scratch.markedProcesses().isEmpty)
            #expect(PIDFile.status(at: h.pidFile("x")) == .absent)
            #expect(try h.swiftd(["status", "x"]).code == 1)
        }
    }

    @Test func missingCommandIsFive() throws {
        try withHarness("exec-missing") { h throws in
            let start = try h.swiftd(["start", "x", "--no-supervise", "--", "no-such-command-swiftd-test"])
            #expect(start.code == 5, "\(start)")
        }
    }

    @Test(arguments: ["main", "group"])
    func stopFollowsTheScheduleAndTheKillModeWithoutASupervisor(_ mode: String) throws {
        try withHarness("exec-schedule") { h throws in
            let signals = h.scratch.file("signals")
            let children = h.scratch.file("children")
            let start = try h.startService("x", ["--no-supervise", "--kill-mode", mode, "--stop-signal", "USR1/300ms/TERM", "--ready", "fd:9"],
                                           service: ["--record-signals", signals, "--fork", "2", "--children-record", children, "--fd-ready", "9"])
            #expect(start.code == 0, "\(start)")
            let stop = try h.swiftd(["stop", "x"])
            #expect(stop.code == 0, "\(stop)")
            #expect(h.text("signals").split(separator: "\n").filter { $0 != "CONT" } == ["USR1", "TERM"], "\(h.text("signals"))")
            let got = h.text("children").split(separator: "\n")
            #expect(got.filter { $0 == "TERM" }.count == 2, "\(got)")
            #expect(got.filter { $0 == "USR1" }.count == (mode == "main" ? 0 : 2), "\(got)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

}
