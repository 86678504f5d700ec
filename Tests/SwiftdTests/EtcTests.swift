import Glibc
import Daemonize
import TestSupport
import Testing

/// The samples in etc/: example.conf, the LSB init script, the systemd unit.
/// Each is used as shipped, against the built swiftd. (The completions:
/// CompletionTests.swift.)
@Suite(.hangLimit) struct EtcTests {
    /// The repository's top directory (this file is Tests/SwiftdTests/EtcTests.swift).
    static let repository = Path.directory(of: Path.directory(of: Path.directory(of: #filePath)))
    static func sample(_ path: String) -> String { Path.join(Path.join(repository, "etc"), path) }

    func text(_ path: String) throws -> String {
        String(decoding: try FileSystem.read(path, limit: 1 << 20), as: UTF8.self)
    }

    /// The environment that points swiftd (and so the samples) at the harness's directories.
    func environment(_ h: Harness, _ extra: [String: String] = [:]) -> [String] {
        var env = h.scratch.environment
        for (name, value) in ["SWIFTD_RUN_DIR": h.runDirectory, "SWIFTD_LOG_DIR": h.logDirectory,
                              "SWIFTD_CONFIG_DIR": h.configDirectory, "SWIFTD": h.swiftdPath].merging(extra, uniquingKeysWith: { $1 }) {
            env = Environment.setting(name, to: value, in: env)
        }
        return env
    }

    // MARK: example.conf

    /// The `key = value` lines of example.conf, commented ("#key = value") or not.
    func exampleSettings() throws -> [(key: String, value: String, commented: Bool)] {
        var settings: [(String, String, Bool)] = []
        for line in try text(Self.sample("swiftd/example.conf")).split(separator: "\n") {
            let commented = line.hasPrefix("#")
            let body = commented ? line.dropFirst() : line[...]
            guard let first = body.first, first.isLetter, let eq = body.firstRange(of: " = ") else { continue }
            settings.append((String(body[..<eq.lowerBound]), String(body[eq.upperBound...]), commented))
        }
        return settings
    }

    @Test func exampleConfShowsEveryKeyOnceWithItsDefault() throws {
        let settings = try exampleSettings()
        #expect(settings.map(\.key) == ServiceConfiguration.keys.map(\.name), "every key once, in the order of swiftd help start")
        let defaults = ServiceConfiguration(name: ServiceName("example")!)
        for setting in settings where setting.key != "command" {
            #expect(setting.commented, "\(setting.key) is left at its default")
            let key = try #require(ServiceConfiguration.key(setting.key))
            var configuration = defaults
            do {
                try configuration.apply(setting.key, setting.value)
            } catch {
                Issue.record("#\(setting.key) = \(setting.value): \(error)")
            }
            // Where there is a default value, the line shows exactly it.
            if !["", "unchanged", "<log dir>/NAME.log"].contains(key.defaultValue) {
                #expect(configuration == defaults, "#\(setting.key) = \(setting.value) is the default \(key.defaultValue)")
            }
        }
    }

    @Test func exampleConfPassesCheck() throws {
        try withHarness("etc-example") { h throws in
            // The example runs python3: a stand-in at the end of PATH for machines without it.
            let bin = h.scratch.file("bin")
            try FileSystem.makeDirectories(bin, mode: 0o755)
            try FileSystem.writeAtomically(Path.join(bin, "python3"), Array("#!/bin/sh\nexec sleep 1000\n".utf8), mode: 0o755)
            let env = Environment.setting("PATH", to: (Environment.value("PATH") ?? "/usr/bin:/bin") + ":" + bin, in: h.scratch.environment)
            let check = try run(h.swiftdPath, ["check", "example", "--config-dir", Self.sample("swiftd"), "--run-dir", h.runDirectory,
                                               "--log-dir", h.logDirectory], environment: env)
            #expect(check.code == 0, "\(check)")
            #expect(check.stdout.hasPrefix("# example: config:\(Self.sample("swiftd/example.conf"))\n"), "\(check)")
            #expect(check.stdout.contains("command = python3 -m http.server 8080 --bind 127.0.0.1 --directory /usr/share/doc  # "))
            #expect(check.stdout.contains("restart = on-failure  # default"))
        }
    }

    // MARK: init script

    /// Runs etc/init.d/swiftd-example ACTION.
    func initScript(_ h: Harness, _ action: String, _ extra: [String: String] = [:]) throws -> RunResult {
        try run(Self.sample("init.d/swiftd-example"), [action], environment: environment(h, extra))
    }

    @Test func initScriptHeaderIsLSB() throws {
        let script = try text(Self.sample("init.d/swiftd-example"))
        #expect(script.hasPrefix("#!/bin/sh\n"))
        for field in ["### BEGIN INIT INFO", "# Provides:          swiftd-example", "# Required-Start:", "# Required-Stop:",
                      "# Default-Start:     2 3 4 5", "# Default-Stop:      0 1 6", "# Short-Description:", "### END INIT INFO"] {
            #expect(script.contains("\n\(field)"), "\(field)")
        }
        #expect(try #require(try FileSystem.status(Self.sample("init.d/swiftd-example"))).st_mode & 0o111 == 0o111, "executable")
    }

    @Test func initScriptStartsReportsAndStopsARealService() throws {
        try withHarness("etc-init") { h throws in
            try h.writeConfig("example", "command = \(h.fixturePath) service --print 1\n")
            #expect(try initScript(h, "status").code == 3, "not running yet")
            let start = try initScript(h, "start")
            #expect(start.code == 0, "\(start)")
            let pid = try #require(h.pid("example"))
            #expect(start.stdout == "example started (pid \(pid))\n")
            #expect(h.isAlive(pid))
            let again = try initScript(h, "start")
            #expect(again.code == 0, "LSB: starting a running service succeeds: \(again)")
            #expect(again.stdout == "example is already running (pid \(pid))\n")
            let status = try initScript(h, "status")
            #expect(status.code == 0, "\(status)")
            #expect(status.stdout.hasPrefix("example: running (pid \(pid))"))

            let restart = try initScript(h, "restart")
            #expect(restart.code == 0, "\(restart)")
            let restarted = try #require(h.pid("example"))
            #expect(restarted != pid)
            let forceReload = try initScript(h, "force-reload")
            #expect(forceReload.code == 0, "\(forceReload)")
            #expect(h.pid("example") != restarted)
            let tryRestart = try initScript(h, "try-restart")
            #expect(tryRestart.code == 0, "\(tryRestart)")
            #expect(try initScript(h, "reload").code == 0)

            let stop = try initScript(h, "stop")
            #expect(stop.code == 0, "\(stop)")
            #expect(stop.stdout == "example stopped\n")
            #expect(h.scratch.markedProcesses().isEmpty)
            #expect(try initScript(h, "status").code == 3)
            #expect(try initScript(h, "stop").code == 0, "LSB: stopping a stopped service succeeds")
            #expect(try initScript(h, "reload").code == 7, "LSB: 7 program is not running")
            let tryRestartStopped = try initScript(h, "try-restart")
            #expect(tryRestartStopped.code == 0)
            #expect(h.pid("example") == nil, "try-restart leaves a stopped service stopped")
            let forceReloadStopped = try initScript(h, "force-reload")
            #expect(forceReloadStopped.code == 0, "\(forceReloadStopped)")
            #expect(h.pid("example") == nil, "LSB: force-reload leaves a stopped service stopped")
        }
    }

    @Test func initScriptPassesFailuresThrough() throws {
        try withHarness("etc-init-fail") { h throws in
            #expect(try initScript(h, "start").code == 6, "no example.conf, no example in PATH: not configured")
            try h.writeConfig("example", "command = \(h.fixturePath) service\nrestart = sometimes\n")
            let bad = try initScript(h, "start")
            #expect(bad.code == 6, "\(bad)")
            #expect(bad.stderr.contains("example.conf:2: bad value for restart"))
            try h.writeConfig("example", "command = /nonexistent/swiftd-daemon\n")
            #expect(try initScript(h, "start").code == 5)
            // A service that fails after starting: status says dead (1).
            try h.writeConfig("example", "command = \(h.fixturePath) service --exit 3 --after 200\nmin-uptime = 0\nrestart = no\n")
            #expect(try initScript(h, "start").code == 0)
            #expect(eventually { (try? initScript(h, "status").code) == 1 })
            let usage = try initScript(h, "bogus")
            #expect(usage.code == 2)
            #expect(usage.stderr.hasPrefix("Usage: "))
            let missing = ["SWIFTD": "/nonexistent/swiftd"]
            #expect(try initScript(h, "start", missing).code == 5, "LSB: 5 program is not installed")
            #expect(try initScript(h, "status", missing).code == 4, "LSB: status unknown")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    // MARK: systemd unit

    /// The `Key=value` lines of a section of the unit file.
    func unitSection(_ name: String) throws -> [String: String] {
        var section = ""
        var values: [String: String] = [:]
        for line in try text(Self.sample("systemd/swiftd@.service")).split(separator: "\n") where !line.hasPrefix("#") {
            if line.hasPrefix("[") { section = String(line); continue }
            guard section == "[\(name)]", let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return values
    }

    @Test func systemdUnitRunsSwiftdInTheForegroundWithReadiness() throws {
        let service = try unitSection("Service")
        #expect(service["Type"] == "notify")
        #expect(service["NotifyAccess"] == "main")
        #expect(service["ExecStart"] == "/usr/local/bin/swiftd run %i")
        #expect(service["ExecReload"] == "/usr/local/bin/swiftd reload %i")
        #expect(service["KillMode"] == "mixed", "swiftd stops the service itself")
        #expect(try unitSection("Install")["WantedBy"] == "multi-user.target")
        #expect(try unitSection("Unit")["Description"]?.contains("%i") == true)
    }

    /// A datagram socket bound at `path`, as systemd's NOTIFY_SOCKET.
    func notifySocket(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let address = try #require(NotifyAddress(path))
        guard address.withSocketAddress({ bind(fd, $0, $1) }) == 0 else { throw SystemError("bind", path: path) }
        return fd
    }

    /// Every datagram that arrives on `fd` until one contains `text` (or 10 s pass).
    func receive(on fd: Int32, until text: String) -> [String] {
        var messages: [String] = []
        let deadline = Monotonic.now() + 10_000_000_000
        while Monotonic.now() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Monotonic.millisecondsUntil(deadline)) == 1 else { break }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { messages.append(String(decoding: buffer[0..<n], as: UTF8.self)) }
            if messages.last?.contains(text) == true { break }
        }
        return messages
    }

    @Test func systemdExecStartPassesReadinessThrough() throws {
        try withHarness("etc-systemd") { h throws in
            try h.writeConfig("web", "command = \(h.fixturePath) service --notify-ready-after 300\nready = notify\n")
            let socketPath = h.scratch.file("notify.sock")
            let fd = try notifySocket(socketPath)
            defer { close(fd) }
            // ExecStart as systemd runs it: %i is the instance, the environment carries NOTIFY_SOCKET.
            let execStart = try #require(try unitSection("Service")["ExecStart"])
            var words = execStart.split(separator: " ").map { $0 == "%i" ? "web" : String($0) }
            try #require(words.first == "/usr/local/bin/swiftd", "\(execStart)")
            words[0] = h.swiftdPath
            let swiftd = try Spawned.start(words[0], Array(words.dropFirst()), environment: environment(h, ["NOTIFY_SOCKET": socketPath]))
            let messages = receive(on: fd, until: "READY=1")
            #expect(messages.last?.contains("READY=1") == true, "\(messages)")
            let pid = try #require(h.pid("web"))
            #expect(messages.last?.contains("STATUS=web started (pid \(pid))") == true, "\(messages)")
            #expect(ProcessTable.stat(of: pid)?.parent == swiftd.pid, "swiftd run is the service's parent: systemd's main process")
            #expect(try h.swiftd(["status", "web"]).code == 0)
            // systemctl stop: SIGTERM to swiftd (KillMode=mixed), which stops the service.
            swiftd.signal(SIGTERM)
            let result = swiftd.wait(timeout: 30)
            #expect(result.code == 0, "\(result)")
            #expect(receive(on: fd, until: "STOPPING=1").last?.contains("STOPPING=1") == true)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }
}
