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

    @Test(.enabled(if: geteuid() == 0 && FileSystem.exists("/usr/bin/unshare"), "needs root and unshare"))
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
