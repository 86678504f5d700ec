import Glibc
import Daemonize
import TestSupport
import Testing

/// `swiftd status` exit codes and output; stale pidfiles.
@Suite(.hangLimit) struct StatusTests {
    @Test func runningIsZeroWithALineAndJSON() throws {
        try withHarness("status") { h throws in
            #expect(try h.startService("web").code == 0)
            let pid = try #require(h.pid("web"))
            let line = try h.swiftd(["status", "web"])
            #expect(line.code == 0)
            #expect(line.stdout.hasPrefix("web: running (pid \(pid)), up "), "\(line)")
            #expect(line.stdout.contains("0 restarts"))
            let json = try h.swiftd(["status", "web", "--json"])
            #expect(json.code == 0)
            #expect(json.stdout.contains("\"name\":\"web\""))
            #expect(json.stdout.contains("\"state\":\"running\""))
            #expect(json.stdout.contains("\"pid\":\(pid)"))
            #expect(json.stdout.contains("\"supervisor_pid\":\(try #require(h.lockHolder("web")))"))
            #expect(json.stdout.contains("\"restarts\":0"))
        }
    }

    @Test func neverStartedIsThree() throws {
        try withHarness("status-never") { h throws in
            let result = try h.swiftd(["status", "ghost"])
            #expect(result.code == 3)
            #expect(result.stdout == "ghost: not running\n")
        }
    }

    @Test func unreadablePidfileIsFour() throws {
        try withHarness("status-unknown") { h throws in
            try FileSystem.makeDirectories(h.runDirectory, mode: 0o755)
            mkfifo(h.pidFile("odd"), 0o644)
            let result = try h.swiftd(["status", "odd"], timeout: 10)
            #expect(result.code == 4, "\(result)")
            #expect(result.stdout.contains("unknown"))
        }
    }

    @Test func stalePidfileOfAStrangerIsDeadAndLeftAloneAndReplaced() throws {
        try withHarness("status-stale") { h throws in
            let signals = h.scratch.file("signals")
            let stranger = try Spawned.start(h.fixturePath, ["service", "--record-signals", signals, "--stamp", h.scratch.file("stamps")],
                                             environment: h.scratch.environment)
            #expect(eventually { h.text("stamps").hasPrefix("start") }, "it records signals from now on")
            try FileSystem.makeDirectories(h.runDirectory, mode: 0o755)
            try FileSystem.writeAtomically(h.pidFile("web"), Array("\(stranger.pid)\n".utf8))
            let status = try h.swiftd(["status", "web"])
            #expect(status.code == 1, "\(status)")
            #expect(status.stdout.contains("dead"))
            let stop = try h.swiftd(["stop", "web"])
            #expect(stop.code == 0)
            #expect(stranger.isRunning, "stop must not touch a stranger")
            try FileSystem.writeAtomically(h.pidFile("web"), Array("\(stranger.pid)\n".utf8))
            let start = try h.startService("web")
            #expect(start.code == 0, "\(start)")
            #expect(h.pid("web") != stranger.pid)
            #expect(stranger.isRunning)
            #expect(try h.swiftd(["stop", "web"]).code == 0)
            let got = h.recordedSignals(of: stranger.pid, in: signals)
            #expect(got == [], "signals reached the stranger: \(String(describing: got))")
            #expect(stranger.isRunning)
        }
    }

    @Test func statusOfEveryServiceWithoutAName() throws {
        try withHarness("status-all") { h throws in
            #expect(try h.startService("a").code == 0)
            #expect(try h.startService("b").code == 0)
            let all = try h.swiftd(["status"])
            #expect(all.code == 0)
            #expect(all.stdout.split(separator: "\n").count == 2)
            #expect(try h.swiftd(["stop", "b"]).code == 0)
            #expect(try h.swiftd(["status"]).code == 3)
        }
    }

    /// A supervisor at its end records how the service ended, then lets go
    /// of the lock: a status read in between says what the record says,
    /// never "starting" (0). A crash point holds the supervisor there.
    /// (Seen under load: "job: starting (pid ?), 0 restarts", exit 0, for a
    /// service that had exited.)
    @Test func aSupervisorOnItsWayOutIsNoStartingService() throws {
        try withHarness("status-finished") { h throws in
            let env = h.environment(pausingAt: "finished-recorded")
            let start = try h.swiftd(["start", "job", "--restart", "no", "--", h.fixturePath, "service", "--exit", "0", "--after", "200"], environment: env)
            #expect(start.code == 0, "\(start)")
            let supervisor = try #require(h.stoppedProcess(), "the supervisor paused once it recorded the end")
            #expect(h.lockHolder("job") == supervisor)
            let status = try h.swiftd(["status", "job"])
            #expect(status.code == 3 && status.stdout == "job: exited with status 0\n", "\(status)")
            kill(supervisor, SIGCONT)
            #expect(eventually { h.lockHolder("job") == nil })
            let after = try h.swiftd(["status", "job"])
            #expect(after.code == status.code && after.stdout == status.stdout, "\(after)")
        }
    }

    /// A supervisor at its end lets go of its pidfile's lock, then removes
    /// the (empty) file: a status read in between says what the record
    /// says, "stopped" (3), never "dead (pidfile left)" (1). A crash point
    /// holds the supervisor there; a name never started gets "not running".
    @Test func aPidfileBeingRemovedIsNoDeadService() throws {
        try withHarness("status-release") { h throws in
            let env = h.environment(pausingAt: "release-unlocked")
            #expect(try h.swiftd(["start", "x", "--", h.fixturePath, "service"], environment: env).code == 0)
            let stop = try h.spawnSwiftd(["stop", "x"])
            let supervisor = try #require(h.stoppedProcess(), "the supervisor paused between its unlock and the removal")
            #expect(PIDFile.status(at: h.pidFile("x")) == .stale(pid: nil))
            let status = try h.swiftd(["status", "x"])
            #expect(status.code == 3 && status.stdout == "x: stopped\n", "\(status)")
            kill(supervisor, SIGCONT)
            #expect(stop.wait(timeout: 30).code == 0)
            #expect(PIDFile.status(at: h.pidFile("x")) == .absent)

            try FileSystem.writeAtomically(h.pidFile("never"), [], mode: 0o600)
            let never = try h.swiftd(["status", "never"])
            #expect(never.code == 3 && never.stdout == "never: not running\n", "\(never)")
        }
    }
}
