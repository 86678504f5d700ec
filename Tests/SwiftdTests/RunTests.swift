import Glibc
import Daemonize
import TestSupport
import Testing

/// `swiftd run`: the supervisor in the foreground.
@Suite(.hangLimit) struct RunTests {
    @Test func exitsWithTheServiceStatus() throws {
        try withHarness("run-status") { h throws in
            let result = try h.swiftd(["run", "r", "--restart", "no", "--", h.fixturePath, "service", "--print", "2", "--exit", "7", "--after", "300"])
            #expect(result.code == 7, "\(result)")
            #expect(result.stdout == "line 1 of 2\nline 2 of 2\n", "output goes to swiftd's own stdout")
            let killed = try h.swiftd(["run", "k", "--restart", "no", "--", h.fixturePath, "service", "--after", "300", "--kill-self", "KILL"])
            #expect(killed.code == 137, "\(killed)")
        }
    }

    @Test func forwardsSignalsAndStopsOnTerm() throws {
        try withHarness("run-signals") { h throws in
            let signals = h.scratch.file("signals")
            let runner = try h.spawnSwiftd(["run", "r", "--", h.fixturePath, "service", "--record-signals", signals,
                                             "--stamp", h.scratch.file("stamps")])
            // The stamp is written once the fixture has set up its signal handling.
            #expect(eventually { h.text("stamps").hasPrefix("start") })
            for signal in [SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT] { runner.signal(signal) }
            #expect(eventually { ["HUP", "USR1", "USR2", "QUIT"].allSatisfy { h.text("signals").contains($0) } }, "\(h.text("signals"))")
            runner.signal(SIGTERM)
            let result = runner.wait(timeout: 20)
            #expect(result.code == 0, "the service exits 0 on TERM: \(result)")
            #expect(h.text("signals").contains("TERM"))
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func interruptReachesTheServiceAsInterrupt() throws {
        try withHarness("run-interrupt") { h throws in
            let signals = h.scratch.file("signals")
            let runner = try h.spawnSwiftd(["run", "r", "--", h.fixturePath, "service", "--record-signals", signals, "--stamp", h.scratch.file("stamps")])
            #expect(eventually { h.text("stamps").hasPrefix("start") })
            runner.signal(SIGINT)
            let result = runner.wait(timeout: 20)
            #expect(result.code == 0, "the service exits 0 on INT: \(result)")
            #expect(h.text("signals").split(separator: "\n").filter { $0 != "CONT" } == ["INT"], "INT, not TERM: \(h.text("signals"))")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func aJobThatSucceedsIsSilentHoweverShort() throws {
        try withHarness("run-silent") { h throws in
            let quick = try h.swiftd(["run", "job", "--", "/bin/sh", "-c", "echo out; echo err >&2"])
            #expect(quick.code == 0, "\(quick)")
            #expect(quick.stdout == "out\n" && quick.stderr == "err\n", "only the job's own lines: \(quick)")
            #expect(h.state("job")?.phase == .exited && h.state("job")?.failure == nil)
            let longer = try h.swiftd(["run", "job", "--", "/bin/sh", "-c", "sleep 0.3"])
            #expect(longer.code == 0 && longer.stdout.isEmpty && longer.stderr.isEmpty, "\(longer)")
            // A failure is said.
            let failed = try h.swiftd(["run", "job", "--restart", "no", "--", "/bin/sh", "-c", "sleep 0.3; exit 3"])
            #expect(failed.code == 3)
            #expect(failed.stderr.contains("swiftd: job exited with status 3"), "\(failed)")
            let early = try h.swiftd(["run", "job", "--", "/bin/sh", "-c", "exit 4"])
            #expect(early.code == 4)
            #expect(early.stderr.contains("swiftd: job failed to start: exited with status 4"), "\(early)")
        }
    }

    @Test func theBusyExitCodeIsWhatASecondRunExitsWith() throws {
        try withHarness("run-busy") { h throws in
            let first = try h.spawnSwiftd(["run", "job", "--", h.fixturePath, "service"])
            #expect(eventually { h.pid("job") != nil })
            let pid = try #require(h.pid("job"))
            let busy = try h.swiftd(["run", "job", "--busy-exit-code", "75", "--", h.fixturePath, "service"])
            #expect(busy.code == 75, "\(busy)")
            #expect(busy.stderr == "swiftd: job is already running (pid \(pid))\n")
            let quiet = try h.swiftd(["run", "job", "--busy-exit-code", "0", "--", h.fixturePath, "service"])
            #expect(quiet.code == 0 && quiet.stdout.isEmpty && quiet.stderr.isEmpty, "\(quiet)")
            // A cron guard with -q prints nothing, whatever its code (as flock -n -E 99).
            for arguments in [["-q", "--busy-exit-code", "99"], ["--quiet"], ["--busy-exit-code", "99", "--quiet"]] {
                let silent = try h.swiftd(["run", "job"] + arguments + ["--", h.fixturePath, "service"])
                #expect(silent.code == (arguments.contains("99") ? 99 : 1) && silent.stdout.isEmpty && silent.stderr.isEmpty, "\(arguments): \(silent)")
            }
            #expect(h.pid("job") == pid, "the busy runs left the first alone")
            for command in ["start", "restart"] {
                let refused = try h.swiftd([command, "job", "--busy-exit-code", "3"])
                #expect(refused.code == 2 && refused.stderr.hasPrefix("swiftd: --busy-exit-code is for run, not \(command)\n"), "\(refused)")
            }
            let bad = try h.swiftd(["run", "other", "--busy-exit-code", "256", "--", "/bin/true"])
            #expect(bad.code == 2 && bad.stderr.hasPrefix("swiftd: bad value for --busy-exit-code: '256' (expected an exit code from 0 to 255)"), "\(bad)")
            first.signal(SIGTERM)
            _ = first.wait(timeout: 20)
        }
    }

    @Test func secondRunIsACronGuard() throws {
        try withHarness("run-guard") { h throws in
            let first = try h.spawnSwiftd(["run", "job", "--", h.fixturePath, "service"])
            #expect(eventually { h.pid("job") != nil })
            let pid = try #require(h.pid("job"))
            let second = try h.swiftd(["run", "job", "--", h.fixturePath, "service"])
            #expect(second.code == 1, "\(second)")
            #expect(second.stderr == "swiftd: job is already running (pid \(pid))\n")
            first.signal(SIGTERM)
            _ = first.wait(timeout: 20)
        }
    }

    @Test func passesReadinessToItsOwnSupervisor() throws {
        try withHarness("run-notify") { h throws in
            let name = "@swiftd-test-run-\(getpid())-\(Monotonic.now())"
            let address = try #require(NotifyAddress(name))
            let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            defer { close(fd) }
            #expect(address.withSocketAddress { bind(fd, $0, $1) } == 0)
            let env = Environment.setting("NOTIFY_SOCKET", to: name, in: h.scratch.environment)
            let runner = try h.spawnSwiftd(["run", "r", "--ready", "notify", "--", h.fixturePath, "service", "--notify-ready-after", "200"], environment: env)
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            #expect(poll(&pfd, 1, 20_000) == 1)
            var buffer = [UInt8](repeating: 0, count: 1024)
            let n = recv(fd, &buffer, buffer.count, 0)
            let message = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
            #expect(message.hasPrefix("READY=1"), "\(message)")
            runner.signal(SIGTERM)
            _ = runner.wait(timeout: 20)
        }
    }

    @Test(.requires(.root, .unshare))
    func asPIDOneItReapsEveryZombie() throws {
        try withHarness("run-pid1") { h throws in
            let script = "for i in 1 2 3 4 5; do (sleep 0.1 &); done; sleep 1; echo zombies=$(grep -l '^State:.Z' /proc/[0-9]*/status 2>/dev/null | wc -l); echo pid1=$(cat /proc/1/comm)"
            let result = try run("/usr/bin/unshare", ["--pid", "--fork", "--mount-proc", h.swiftdPath] + h.withDirectories(
                ["run", "init", "--restart", "no", "--min-uptime", "0", "--", "/bin/sh", "-c", script]), environment: h.scratch.environment)
            #expect(result.code == 0, "\(result)")
            #expect(result.values["pid1"] == "swiftd")
            #expect(result.values["zombies"] == "0", "\(result)")
        }
    }

    /// A user whose home does not exist (nobody, a system user in cron), with
    /// no XDG_RUNTIME_DIR: the job's output goes to run's own, no log file or
    /// log dir is made for it, and its records go to /tmp/swiftd-UID.
    @Test(.requires(.hostileUser))
    func aUserWithoutAHomeRunsAJobToItsOwnOutput() throws {
        try withUserHarness("run-nohome") { h, user throws in
            let home = "/nonexistent-swiftd-\(getpid())"
            try #require(!FileSystem.exists(home))
            var env = h.scratch.environment.filter { entry in
                !["HOME=", "XDG_", "SWIFTD_RUN_DIR=", "SWIFTD_LOG_DIR=", "SWIFTD_CONFIG_DIR="].contains { entry.hasPrefix($0) }
            }
            env.append("HOME=\(home)")
            let name = "nohome-\(getpid())-\(Monotonic.now() % 1_000_000)"
            let runDirectory = "/tmp/swiftd-\(user.uid)"
            defer {
                try? FileSystem.remove(Path.join(runDirectory, "\(name).state"))
                try? FileSystem.remove(Path.join(runDirectory, "\(name).pid"))
            }
            func run(_ arguments: [String]) throws -> RunResult {
                try TestSupport.run("/usr/bin/setpriv", user.prefix + [h.swiftdPath] + arguments, environment: env)
            }
            let job = try run(["run", name, "--", "/bin/sh", "-c", "echo out; echo err >&2"])
            #expect(job.code == 0 && job.stdout == "out\n" && job.stderr == "err\n", "\(job)")
            #expect(!FileSystem.exists(home), "nothing made under the missing home")
            let status = try run(["status", name])
            #expect(status.code == 3 && status.stdout.hasPrefix("\(name): "), "its record is in \(runDirectory): \(status)")
            #expect(FileSystem.exists(Path.join(runDirectory, "\(name).state")))
            // With --log FILE its output goes there, and nothing to its own.
            try FileSystem.makeDirectory(h.scratch.file("own"), mode: 0o755)
            chown(h.scratch.file("own"), user.uid, user.gid)
            let logged = try run(["run", name, "--log", h.scratch.file("own/job.log"), "--", "/bin/sh", "-c", "echo out; echo err >&2"])
            #expect(logged.code == 0 && logged.stdout.isEmpty && logged.stderr.isEmpty, "\(logged)")
            #expect(h.text("own/job.log").hasSuffix("\nout\nerr\n"), "\(h.text("own/job.log"))")
        }
    }

    /// As PID 1 (a container's init) with no restart setting, the command
    /// runs once and run exits with its status, as tini and dumb-init do.
    @Test(.requires(.root, .unshare))
    func asPIDOneAFailingCommandRunsOnce() throws {
        try withHarness("run-pid1-once") { h throws in
            let runs = h.scratch.file("runs")
            func init1(_ options: [String], _ script: String) throws -> RunResult {
                try TestSupport.run("/usr/bin/unshare", ["--pid", "--fork", "--mount-proc", h.swiftdPath] + h.withDirectories(
                    ["run", "job"] + options + ["--", "/bin/sh", "-c", "echo ran >> \(runs); " + script]), environment: h.scratch.environment)
            }
            let failed = try init1([], "sleep 0.3; exit 7")
            #expect(failed.code == 7, "\(failed)")
            #expect(h.text("runs") == "ran\n", "ran once: \(failed)")
            #expect(!failed.stderr.contains("restarting"), "\(failed)")
            // Killed by a signal: 128+N, once.
            try FileSystem.writeAtomically(runs, [])
            let killed = try init1([], "sleep 0.3; kill -KILL $$")
            #expect(killed.code == 137 && h.text("runs") == "ran\n", "\(killed)")
            // The restart exit code is a restart setting too: not given, 75 is a status like any other.
            try FileSystem.writeAtomically(runs, [])
            let tempfail = try init1([], "sleep 0.3; exit 75")
            #expect(tempfail.code == 75 && h.text("runs") == "ran\n", "\(tempfail)")
            // A restart setting given is kept: by option, and by the config file's key.
            try FileSystem.writeAtomically(runs, [])
            let respawned = try init1(["--restart", "on-failure", "--restart-delay", "10ms", "--start-limit", "2/1m"], "sleep 0.3; exit 7")
            #expect(respawned.code == 7 && h.text("runs") == "ran\nran\n", "\(respawned)")
            try FileSystem.writeAtomically(runs, [])
            try h.writeConfig("job", "command = /bin/sh -c 'echo ran >> \(runs); sleep 0.3; exit 7'\nrestart = on-failure\nrestart-delay = 10ms\nstart-limit = 2/1m\n")
            let configured = try TestSupport.run("/usr/bin/unshare", ["--pid", "--fork", "--mount-proc", h.swiftdPath] + h.withDirectories(["run", "job"]),
                                                 environment: h.scratch.environment)
            #expect(configured.code == 7 && h.text("runs") == "ran\nran\n", "\(configured)")
        }
    }

    /// As PID 1, signals still reach the service (TERM stops it, the others
    /// are passed on) and run exits with its status.
    @Test(.requires(.root, .unshare))
    func asPIDOneSignalsReachTheService() throws {
        try withHarness("run-pid1-signals") { h throws in
            let signals = h.scratch.file("signals")
            let runner = try Spawned.start("/usr/bin/unshare", ["--pid", "--fork", "--mount-proc", h.swiftdPath] + h.withDirectories(
                ["run", "job", "--", h.fixturePath, "service", "--record-signals", signals, "--stamp", h.scratch.file("stamps")]),
                environment: h.scratch.environment)
            #expect(eventually { h.text("stamps").hasPrefix("start") })
            let init1 = try #require(h.processes(named: "swiftd").first, "swiftd, PID 1 of its namespace")
            for signal in [SIGHUP, SIGUSR1, SIGUSR2] { kill(init1, signal) }
            #expect(eventually { ["HUP", "USR1", "USR2"].allSatisfy { h.text("signals").contains($0) } }, "\(h.text("signals"))")
            kill(init1, SIGTERM)
            let result = runner.wait(timeout: 20)
            #expect(result.code == 0, "the service exits 0 on TERM: \(result)")
            #expect(h.text("signals").contains("TERM"))
            #expect(h.text("stamps").split(separator: "\n").filter { $0.hasPrefix("start") }.count == 1, "started once: \(h.text("stamps"))")
        }
    }
}
