import Glibc
import Daemonize
import TestSupport
import Testing

/// `swiftd run`: the supervisor in the foreground.
@Suite(.timeLimit(.minutes(5))) struct RunTests {
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
}
