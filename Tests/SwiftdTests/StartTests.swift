import Glibc
import Daemonize
import TestSupport
import Testing

/// `swiftd start`: success only for a running service, failures reported by start itself.
@Suite(.hangLimit) struct StartTests {
    @Test func startReturnsWithTheServicePidLockedByItsSupervisor() throws {
        try withHarness("start") { h throws in
            let result = try h.startService("web", ["--chdir", "/tmp"], service: ["--print", "3"])
            #expect(result.code == 0, "\(result)")
            let pid = try #require(h.pid("web"))
            #expect(result.stdout == "web started (pid \(pid))\n")
            #expect(h.isAlive(pid))
            #expect(ProcessTable.stat(of: pid)?.name == "fixture", "the pidfile names the command, not the supervisor")
            let state = try #require(h.state("web"))
            let supervisor = try #require(state.supervisorPID)
            #expect(supervisor != pid)
            #expect(h.lockHolder("web") == supervisor)
            #expect(ProcessTable.stat(of: pid)?.parent == supervisor)
            #expect(ProcessTable.stat(of: supervisor)?.name == "swiftd: web")
            #expect(state.configuration.command == [h.fixturePath, "service", "--print", "3"])
            #expect(state.configuration.chdir == "/tmp")
            #expect(state.mode == .supervised)
            #expect(h.log("web").contains("line 3 of 3"))
        }
    }

    /// With `--min-uptime 0` the exec is the start: a command that fails at
    /// once (it ran: it wrote its file) has started all the same. With the
    /// default window of 100 ms the same start fails, so the test fails if
    /// the 0 is ignored.
    @Test(arguments: ["supervised", "exec"])
    func minUptimeZeroReturnsOnceExecuted(_ mode: String) throws {
        try withHarness("start-zero") { h throws in
            let ran = h.scratch.file("ran")
            let command = ["--", "/bin/sh", "-c", "echo ran > \(ran); exit 3"]
            let options = ["--restart", "no"] + (mode == "exec" ? ["--no-supervise"] : [])
            let result = try h.swiftd(["start", "quick", "--min-uptime", "0"] + options + command)
            #expect(result.code == 0 && result.stdout.hasPrefix("quick started (pid "), "\(result)")
            #expect(eventually { h.text("ran") == "ran\n" }, "it was exec'd")
            // The same command with the default window: it did not stay up.
            let windowed = try h.swiftd(["start", "windowed"] + options + command)
            #expect(windowed.code == 1 && windowed.stderr.contains("windowed failed to start: exited with status 3"), "\(windowed)")
        }
    }

    @Test func commandNotFoundIsFiveAndNamesIt() throws {
        try withHarness("start-missing") { h throws in
            let result = try h.swiftd(["start", "x", "--", "no-such-command-swiftd-test"])
            #expect(result.code == 5, "\(result)")
            #expect(result.stderr.contains("no-such-command-swiftd-test"))
            #expect(result.stderr.contains("not found"))
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func notExecutableIsFour() throws {
        try withHarness("start-noexec") { h throws in
            let file = h.scratch.file("script")
            try FileSystem.writeAtomically(file, Array("#!/bin/sh\n".utf8), mode: 0o644)
            let result = try h.swiftd(["start", "x", "--", file])
            #expect(result.code == 4, "\(result)")
            #expect(result.stderr.contains("Permission denied"))
            #expect(result.stderr.contains(file))
        }
    }

    @Test func badWorkingDirectoryIsOneNamingTheStep() throws {
        try withHarness("start-chdir") { h throws in
            let result = try h.startService("x", ["--chdir", "/nonexistent-swiftd"])
            #expect(result.code == 1, "\(result)")
            #expect(result.stderr.contains("chdir /nonexistent-swiftd: No such file or directory"), "\(result)")
            #expect(h.scratch.markedProcesses().isEmpty)
            #expect(PIDFile.status(at: h.pidFile("x")) == .absent)
        }
    }

    @Test func exitDuringTheStartWindowIsReportedWithTheLog() throws {
        try withHarness("start-exit") { h throws in
            let result = try h.startService("x", ["--min-uptime", "2s"], service: ["--print", "2", "--exit", "3", "--after", "50"])
            #expect(result.code == 1, "\(result)")
            #expect(result.stderr.contains("x failed to start: exited with status 3"), "\(result)")
            #expect(result.stderr.contains("line 2 of 2"), "the last lines of its log: \(result)")
            #expect(h.scratch.markedProcesses().isEmpty)
            #expect(PIDFile.status(at: h.pidFile("x")) == .absent)
            let status = try h.swiftd(["status", "x"])
            #expect(status.code == 1, "a failure record: \(status)")
        }
    }

    @Test func deathBySignalDuringTheStartWindow() throws {
        try withHarness("start-killed") { h throws in
            let result = try h.startService("x", ["--min-uptime", "2s"], service: ["--exit", "0", "--after", "50", "--kill-self", "KILL"])
            #expect(result.code == 1, "\(result)")
            #expect(result.stderr.contains("killed by signal KILL"), "\(result)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func alreadyRunningIsZeroWithThePid() throws {
        try withHarness("start-again") { h throws in
            #expect(try h.startService("web").code == 0)
            let pid = try #require(h.pid("web"))
            let again = try h.startService("web")
            #expect(again.code == 0)
            #expect(again.stdout == "web is already running (pid \(pid))\n")
            #expect(h.processes(named: "fixture").count == 1)
        }
    }

    /// A start meeting a supervisor that has no service process to name
    /// names the supervisor, with what it is doing: still starting (held
    /// at a crash point before it spawns), or waiting to restart.
    @Test func aStartNamesASupervisorWithoutAServiceAndWhatItIsDoing() throws {
        try withHarness("start-busy") { h throws in
            let env = h.environment(pausingAt: "before-spawn")
            let first = try h.spawnSwiftd(["start", "x", "--", h.fixturePath, "service"], environment: env)
            let supervisor = try #require(h.stoppedProcess(), "the supervisor paused before it spawns")
            let second = try h.swiftd(["start", "x", "--", h.fixturePath, "service"])
            #expect(second.code == 0 && second.stdout == "x is already running (starting; supervisor pid \(supervisor))\n", "\(second)")
            kill(supervisor, SIGCONT)
            #expect(first.wait(timeout: 30).code == 0)
            #expect(try h.swiftd(["stop", "x"]).code == 0)

            #expect(try h.startService("y", ["--restart", "always", "--restart-delay", "30s", "--min-uptime", "0"], service: ["--exit", "0", "--after", "200"]).code == 0)
            #expect(eventually { h.state("y")?.phase == .backoff })
            let again = try h.swiftd(["start", "y", "--", h.fixturePath, "service"])
            let holder = try #require(h.lockHolder("y"))
            #expect(again.code == 0 && again.stdout == "y is already running (restarting; supervisor pid \(holder))\n", "\(again)")
            #expect(try h.swiftd(["stop", "y"]).code == 0)
        }
    }

    @Test func twentyRacingStartsMakeOneService() throws {
        try withHarness("start-race") { h throws in
            let starters = try (0..<20).map { _ in
                try h.spawnSwiftd(["start", "race", "--", h.fixturePath, "service"])
            }
            let results = starters.map { $0.wait(timeout: 60) }
            for result in results { #expect(result.code == 0, "\(result)") }
            let started = results.filter { $0.stdout.contains("started") }
            #expect(started.count == 1, "\(results.map(\.stdout))")
            let pid = try #require(h.pid("race"))
            let supervisor = try #require(h.lockHolder("race"))
            for result in results where !result.stdout.contains("started") {
                // One that waited half a second on a supervisor still starting (under load) names the supervisor.
                #expect(result.stdout == "race is already running (pid \(pid))\n"
                        || result.stdout == "race is already running (starting; supervisor pid \(supervisor))\n", "\(result)")
            }
            #expect(h.processes(named: "fixture") == [pid])
        }
    }

    @Test func serviceGetsExactlyWhatItAskedFor() throws {
        try withHarness("start-describe") { h throws in
            let describe = h.scratch.file("describe")
            let result = try h.startService("d", ["--chdir", h.scratch.path, "--umask", "027", "--clear-env", "--env", "A=1",
                                                  "--env", h.scratch.mark, "--env", "B=two words"],
                                            service: ["--describe", describe])
            #expect(result.code == 0, "\(result)")
            let values = keyValues(h.text("describe"))
            let pid = try #require(h.pid("d"))
            #expect(values["pid"] == "\(pid)")
            #expect(values["cwd"] == h.scratch.path)
            #expect(values["umask"] == "27")
            #expect(values["fds"] == "0,1,2")
            #expect(values["fd0"] == "/dev/null")
            #expect(values["fd1"]?.hasPrefix("pipe:") == true, "stdout goes to the supervisor's relay: \(values)")
            #expect(values["fd1"] == values["fd2"])
            #expect(values["sid"] == "\(pid)")
            #expect(values["pgid"] == "\(pid)")
            #expect(values["env"] == "A=1\u{1}\(h.scratch.mark)\u{1}B=two words")
        }
    }

    @Test func readinessDescriptorIsTheOnlyExtraOne() throws {
        try withHarness("start-fd") { h throws in
            let result = try h.startService("d", ["--ready", "fd:3"], service: ["--describe", h.scratch.file("describe"), "--fd-ready", "3"])
            #expect(result.code == 0, "\(result)")
            #expect(h.text("describe").contains("fds=0,1,2,3\n"), "\(h.text("describe"))")
        }
    }
}
