import Glibc
import Daemonize
import TestSupport
import Testing

/// `--pidfile FILE`: a command that puts itself in the background (the
/// fixture's `--daemonize FILE` forks twice, as classic daemons do) is
/// supervised through the pid it leaves in FILE, and FILE, the service's
/// word, never makes swiftd adopt or signal a process that is not the service's.
@Suite(.hangLimit) struct ForkingDaemonTests {
    /// The pid FILE holds.
    func written(_ h: Harness, _ file: String) -> pid_t? {
        PIDFile.parsePID(Array(h.text(file).utf8))
    }

    @Test func aForkingDaemonIsAdoptedFromItsPidfileAndRespawnedWhenItDies() throws {
        try withHarness("forking") { h throws in
            let file = h.scratch.file("daemon.pid")
            let signals = h.scratch.file("signals")
            let start = try h.startService("x", ["--pidfile", file], service: ["--daemonize", file, "--record-signals", signals])
            #expect(start.code == 0, "\(start)")
            let daemon = try #require(written(h, "daemon.pid"))
            #expect(start.stdout == "x started (pid \(daemon))\n")
            #expect(h.pid("x") == daemon, "NAME.pid names the daemon")
            let supervisor = try #require(h.lockHolder("x"))
            #expect(ProcessTable.stat(of: daemon)?.parent == supervisor)
            let status = try h.swiftd(["status", "x"])
            #expect(status.code == 0 && status.stdout.contains("(pid \(daemon))"), "\(status)")
            #expect(try h.swiftd(["signal", "x", "USR1"]).code == 0)
            #expect(try h.swiftd(["reload", "x"]).code == 0)
            #expect(eventually { h.text("signals").contains("USR1") && h.text("signals").contains("HUP") }, "\(h.text("signals"))")

            // Killed: the whole sequence again, and the new daemon is the main process.
            kill(daemon, SIGKILL)
            #expect(eventually { h.pid("x").map { $0 != daemon && $0 == written(h, "daemon.pid") } ?? false },
                    "the new daemon, adopted: \(h.log("x")) \(String(describing: h.state("x")?.failure))")
            let second = try #require(h.pid("x"))
            #expect(h.state("x")?.restarts == 1)
            #expect(try h.swiftd(["status", "x"]).stdout.contains("(pid \(second))"))

            let stop = try h.swiftd(["stop", "x"])
            #expect(stop.code == 0 && stop.stdout == "x stopped\n", "\(stop)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// The daemon does not get the parent-death signal its command had: after
    /// its supervisor is killed, the next stop finds it (in the session it is
    /// in, though it does not lead it) and stops it.
    @Test func aDaemonLeftByAKilledSupervisorIsStoppedByTheNextStop() throws {
        try withHarness("forking-orphan") { h throws in
            let file = h.scratch.file("daemon.pid")
            #expect(try h.startService("x", ["--pidfile", file], service: ["--daemonize", file]).code == 0)
            let daemon = try #require(h.pid("x"))
            #expect(ProcessTable.stat(of: daemon)?.session != daemon, "it forked again after setsid")
            let supervisor = try #require(h.lockHolder("x"))
            kill(supervisor, SIGKILL)
            #expect(eventually { !h.isAlive(supervisor) })
            let stop = try h.swiftd(["stop", "x"])
            #expect(stop.code == 0 && stop.stdout == "x stopped (1 leftover process of a dead supervisor)\n", "\(stop)")
            #expect(!h.isAlive(daemon))
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func aStalePidfileFromBeforeTheStartIsNotTheDaemonsWord() throws {
        try withHarness("forking-stale") { h throws in
            let file = h.scratch.file("daemon.pid")
            try FileSystem.writeAtomically(file, Array("1\n".utf8))
            let start = try h.startService("x", ["--pidfile", file], service: ["--daemonize", file])
            #expect(start.code == 0, "\(start)")
            #expect(h.pid("x") == written(h, "daemon.pid"))
            #expect(try h.swiftd(["stop", "x"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// FILE names pid 1, the supervisor, or a process of the test's own: each
    /// refused, never signalled; the start fails naming FILE and the pid, and
    /// what the command left is stopped.
    @Test(arguments: ["init", "supervisor", "outsider"])
    func aPidfileNamingAProcessOutsideTheServiceIsRefused(_ whom: String) throws {
        try withHarness("forking-outside") { h throws in
            let file = h.scratch.file("daemon.pid")
            let signals = h.scratch.file("signals")
            let outsider = try Spawned.start(h.fixturePath, ["service", "--record-signals", signals, "--stamp", h.scratch.file("stamps")],
                                             environment: h.scratch.environment)
            #expect(eventually { h.text("stamps").hasPrefix("start") }, "it records signals from now on")
            let pid = try #require(["init": "1", "supervisor": "$PPID", "outsider": "\(outsider.pid)"][whom])
            let start = try h.swiftd(["start", "x", "--pidfile", file, "--", "/bin/sh", "-c", "sleep 60 & echo \(pid) > \(file)"])
            #expect(start.code == 1, "\(start)")
            let named = try #require(written(h, "daemon.pid"))
            #expect(start.stderr.hasPrefix("swiftd: x failed to start: \(file) names pid \(named), which is not a process of x (refused)"), "\(start)")
            let got = h.recordedSignals(of: outsider.pid, in: signals)
            #expect(got == [], "never signalled: \(String(describing: got))")
            #expect(h.scratch.markedProcesses() == [outsider.pid], "what the command left was stopped")
            #expect(try h.swiftd(["status", "x"]).code == 1)
        }
    }

    /// A respawn is the whole sequence again, FILE checked again: one that
    /// names another process ends the supervision, recorded as failed.
    @Test func aRespawnWhosePidfileNamesAnotherProcessIsNotRetried() throws {
        try withHarness("forking-respawn-refused") { h throws in
            let file = h.scratch.file("daemon.pid")
            let once = h.scratch.file("once")
            let script = "if [ -e \(once) ]; then sleep 60 & echo 1 > \(file); else touch \(once); sleep 60 & echo $! > \(file); fi"
            let start = try h.swiftd(["start", "x", "--pidfile", file, "--", "/bin/sh", "-c", script])
            #expect(start.code == 0, "\(start)")
            let first = try #require(h.pid("x"))
            kill(first, SIGKILL)
            #expect(eventually { h.state("x")?.phase == .failed }, "\(h.log("x"))")
            #expect(h.state("x")?.failure == "failed to start: \(file) names pid 1, which is not a process of x (refused)")
            // The supervisor records the end, then exits: wait for it (the sleep would stay 60 s).
            #expect(eventually { h.scratch.markedProcesses().isEmpty }, "the second sleep was stopped: \(h.scratch.markedProcesses())")
            #expect(try h.swiftd(["status", "x"]).code == 1)
        }
    }

    @Test func aPidfileThatIsASymlinkIsRefused() throws {
        try withHarness("forking-symlink") { h throws in
            let file = h.scratch.file("daemon.pid")
            let start = try h.swiftd(["start", "x", "--pidfile", file, "--", "/bin/sh", "-c", "sleep 60 & ln -s /proc/self/stat \(file)"])
            #expect(start.code == 1, "\(start)")
            #expect(start.stderr.hasPrefix("swiftd: x failed to start: \(file): it is a symbolic link (refused)"), "\(start)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func aDaemonThatNeverNamesItselfFailsAtTheReadyTimeout() throws {
        try withHarness("forking-late") { h throws in
            let file = h.scratch.file("daemon.pid")
            let start = try h.swiftd(["start", "x", "--pidfile", file, "--ready-timeout", "500ms", "--", "/bin/sh", "-c", "sleep 60 &"])
            #expect(start.code == 1, "\(start)")
            #expect(start.stderr.hasPrefix("swiftd: x failed to start: its pidfile named none of its processes within 500ms (\(file): it does not exist)"),
                    "\(start)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func aCommandThatLeavesNothingFailsAtOnce() throws {
        try withHarness("forking-nothing") { h throws in
            let file = h.scratch.file("daemon.pid")
            let start = try h.swiftd(["start", "x", "--pidfile", file, "--ready-timeout", "1h", "--", "/bin/true"])
            #expect(start.code == 1, "\(start)")
            #expect(start.stderr.hasPrefix("swiftd: x failed to start: its command exited with status 0 and left no process running (\(file): it does not exist)"),
                    "\(start)")
        }
    }

    @Test func aCommandThatStaysInTheForegroundFailsAtTheReadyTimeout() throws {
        try withHarness("forking-foreground") { h throws in
            let file = h.scratch.file("daemon.pid")
            let start = try h.startService("x", ["--pidfile", file, "--ready-timeout", "500ms"])
            #expect(start.code == 1, "\(start)")
            #expect(start.stderr.contains("did not put itself in the background within 500ms"), "\(start)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func aBadPidfileIsRefusedBeforeAnythingStarts() throws {
        try withHarness("forking-bad") { h throws in
            try FileSystem.makeDirectory(h.runDirectory, mode: 0o700)
            let cases: [([String], String)] = [
                (["--pidfile", "/nonexistent/x.pid"], "bad value for --pidfile: '/nonexistent/x.pid' (its directory /nonexistent does not exist)"),
                (["--pidfile", "/etc/passwd/x.pid"], "bad value for --pidfile: '/etc/passwd/x.pid' (/etc/passwd is not a directory)"),
                (["--pidfile", "/etc"], "bad value for --pidfile: '/etc' (it is not a regular file)"),
                (["--pidfile", h.scratch.file("x.pid"), "--no-supervise"], "pidfile needs the supervisor"),
                (["--pidfile", h.scratch.file("x.pid"), "--ready", "notify"], "pidfile needs ready = exec"),
                (["--pidfile", h.pidFile("x")], "pidfile \(h.pidFile("x")) is swiftd's own pidfile of x"),
            ]
            for (options, message) in cases {
                let start = try h.startService("x", options)
                #expect(start.code == 2, "\(options): \(start)")
                #expect(start.stderr.hasPrefix("swiftd: \(message)"), "\(options): \(start)")
            }
            try FileSystem.makeDirectory(h.configDirectory, mode: 0o755)
            try FileSystem.writeAtomically(Path.join(h.configDirectory, "c.conf"), Array("command = /bin/true\npidfile = /nonexistent/c.pid\n".utf8))
            let fromFile = try h.swiftd(["start", "c"])
            #expect(fromFile.code == 6, "\(fromFile)")
            #expect(fromFile.stderr.contains("c.conf:2: bad value for pidfile: '/nonexistent/c.pid' (its directory /nonexistent does not exist)"), "\(fromFile)")
            try FileSystem.writeAtomically(Path.join(h.configDirectory, "r.conf"), Array("command = /bin/true\npidfile = r.pid\n".utf8))
            #expect(try h.swiftd(["start", "r"]).stderr.contains("r.conf:2: bad value for pidfile: 'r.pid' (expected an absolute path or none)"))
            #expect(ProcessTable.entries(of: h.runDirectory).isEmpty, "nothing left in the run dir")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test(.requires(.hostileUser))
    func aPidfileInADirectoryThisUserCannotSearchIsAUsageError() throws {
        try withUserHarness("forking-search") { h, user throws in
            let closed = h.scratch.file("closed")
            try FileSystem.makeDirectory(closed, mode: 0o700)
            let start = try user.swiftd(h, ["start", "x", "--pidfile", Path.join(closed, "x.pid"), "--", "/bin/true"])
            #expect(start.code == 2, "\(start)")
            #expect(start.stderr.hasPrefix("swiftd: bad value for --pidfile: '\(closed)/x.pid' (its directory \(closed) cannot be searched by this user)"),
                    "\(start)")
        }
    }
}
