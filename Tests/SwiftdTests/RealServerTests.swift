import Glibc
import Daemonize
import TestSupport
import Testing

/// The README's example of a restart without downtime, run as written
/// (`swiftd start app --chdir "$PWD" --listen tcp:127.0.0.1:8000 --ready
/// notify --restart-mode overlap --watch app.py -- gunicorn app:app`, only
/// the port changed), with real servers: gunicorn 27.0.1 with default
/// settings (no `--preload`: its master says READY=1 before its worker loads
/// app.py) and uvicorn 0.55.0 with `--fd 3` (which says nothing: ready once
/// `--min-uptime` passes). Both from `make venv` (`RealServers`). Under load
/// (`Load.during`), in four phases: 30 `swiftd restart`s, 30 edits of
/// app.py, a bad edit (a syntax error: the new instance dies within its
/// settle window, the old one serves on, `restart` exits 1 with why), and
/// the fix (the new code serves, with no `start` typed). gunicorn and
/// uvicorn run side by side: most of each test is the settle time waited
/// 61 times (about 2.5 minutes each, alone, on 2 busy cores).
@Suite(.hangLimit, .requires(.python3, .realServers))
struct RealServerTests {
    static let rounds = 30

    enum Server: String, CaseIterable, CustomStringConvertible {
        case gunicorn, uvicorn
        var description: String { rawValue }

        /// The app's template in Tests/fixtures.
        var app: String { self == .gunicorn ? "wsgi-app.py" : "asgi-app.py" }

        /// What a new instance that fails to load app.py exits with: gunicorn's
        /// master 3 ("Worker failed to boot"), uvicorn 1.
        var failedBoot: String { self == .gunicorn ? "exited with status 3" : "exited with status 1" }

        /// The README's example on `port`; for uvicorn, as the README says to
        /// run it: `uvicorn --fd 3 app:app`, without `--ready notify`.
        func command(port: UInt16) throws -> String {
            let example = try #require(RealServers.readmeExample(), "README.md has no `$ swiftd start app ... -- gunicorn app:app` example")
            #expect(example.contains("127.0.0.1:8000"), "\(example)")
            var line = example.replacing("127.0.0.1:8000", with: "127.0.0.1:\(port)")
            if self == .uvicorn { line = line.replacing(" --ready notify", with: "").replacing("gunicorn app:app", with: "uvicorn --fd 3 app:app") }
            return line
        }
    }

    /// A shell's environment as a user would have it, for the start and every
    /// later command (`restart` finds the command in its own PATH): the
    /// servers and swiftd in PATH, the run and log dirs the test's own; HOME
    /// too (gunicorn puts its control socket there, or in XDG_RUNTIME_DIR).
    func environment(_ h: Harness) -> [String] {
        var environment = h.scratch.environment
        let settings = [("PATH", "\(RealServers.bin):\(productsDirectory()):/usr/bin:/bin"), ("HOME", h.scratch.path),
                        ("XDG_RUNTIME_DIR", h.scratch.path), ("SWIFTD_RUN_DIR", h.runDirectory), ("SWIFTD_LOG_DIR", h.logDirectory),
                        ("SWIFTD_CONFIG_DIR", h.configDirectory)]
        for (name, value) in settings { environment = Environment.setting(name, to: value, in: environment) }
        return environment
    }

    func writeApp(_ h: Harness, _ server: Server, _ version: String, broken: Bool = false) throws {
        try FileSystem.writeAtomically(h.scratch.file("app.py"), RealServers.app(server.app, version: version, broken: broken))
    }

    /// The version GET / names, nil when nothing answers.
    func served(_ port: UInt16) -> String? {
        Loopback.body(port, "GET / HTTP/1.0\r\n\r\n").flatMap { $0.split(separator: " ").first { $0.hasPrefix("version=") } }
            .map { String($0.dropFirst("version=".count)).trimmingNewline }
    }

    /// Every restart asked for so far has ended.
    func restartsOver(_ h: Harness) -> Bool {
        guard let state = h.state("app") else { return false }
        return state.restartsEnded == state.restartsBegun && state.newPID == nil && state.oldPID == nil
    }

    @Test(arguments: Server.allCases)
    func theReadmeExampleServesThroughRestartsEditsAndABadEdit(_ server: Server) throws {
        try withHarness("real-\(server)") { h throws in
            let port = try Loopback.freePort()
            try writeApp(h, server, "v0")
            let start = try run("/bin/sh", ["-c", "cd \"$1\" && " + server.command(port: port), "sh", h.scratch.path],
                                environment: environment(h), timeout: 60)
            try #require(start.code == 0, "\(start)\n\(h.log("app"))")
            let restarts = try Load.during(h.scratch, port: port, label: "\(server)-restarts") {
                for round in 1...Self.rounds {
                    let before = h.state("app")?.pid
                    let restart = try h.swiftd(["restart", "app"], environment: environment(h))
                    #expect(restart.code == 0, "round \(round): \(restart)")
                    #expect(h.state("app")?.pid != before, "round \(round): a new instance serves")
                }
            }
            let edits = try Load.during(h.scratch, port: port, label: "\(server)-edits") {
                for round in 1...Self.rounds {
                    try writeApp(h, server, "v\(round)")
                    #expect(eventually(timeout: 30) { served(port) == "v\(round)" }, "round \(round): the new code serves")
                }
                #expect(eventually(timeout: 30) { restartsOver(h) })
            }
            #expect(!h.log("app").contains("restart failed"), "\(h.log("app"))")
            let (bad, fix) = try badEditAndFix(h, server, port)
            for load in [restarts, edits, bad, fix] { #expect(load.refused == 0, "\(load)") }
            // uvicorn's own shutdown closes what it accepted and has not read
            // yet: those requests are counted (above), not held against swiftd.
            if server == .gunicorn {
                for load in [restarts, edits, fix] { #expect(load.failed == 0, "\(load)") }
            }
            #expect(bad.failed == 0, "\(bad)")
            #expect(bad.versions == ["v\(Self.rounds)"], "the old code serves throughout: \(bad)")
            #expect(try h.swiftd(["stop", "app"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// A syntax error in app.py, then its fix, each under load.
    func badEditAndFix(_ h: Harness, _ server: Server, _ port: UInt16) throws -> (bad: Load, fix: Load) {
        let serving = h.state("app")?.pid
        let bad = try Load.during(h.scratch, port: port, label: "\(server)-bad-edit") {
            let ended = h.state("app")?.restartsEnded ?? 0
            try writeApp(h, server, "broken", broken: true)
            #expect(eventually(timeout: 60) { (h.state("app")?.restartsEnded ?? 0) > ended && restartsOver(h) },
                    "the watched change's restart ends")
            #expect(h.state("app")?.restartFailure?.contains(server.failedBoot) == true, "\(String(describing: h.state("app")))")
            let restart = try h.swiftd(["restart", "app"], environment: environment(h))
            #expect(restart.code == 1, "\(restart)")
            #expect(restart.stderr.contains("app: restart failed: ") && restart.stderr.contains(server.failedBoot), "\(restart)")
            let status = try h.swiftd(["status", "app"], environment: environment(h))
            #expect(status.code == 0 && status.stdout.contains("last restart failed"), "\(status)")
            #expect(h.state("app")?.pid == serving, "the old instance serves on")
            #expect(served(port) == "v\(Self.rounds)")
        }
        let fix = try Load.during(h.scratch, port: port, label: "\(server)-fix") {
            try writeApp(h, server, "fixed")
            #expect(eventually(timeout: 30) { served(port) == "fixed" }, "the fixed code serves, with no start typed")
            #expect(eventually(timeout: 30) { restartsOver(h) && h.state("app")?.restartFailure == nil })
        }
        return (bad, fix)
    }
}

extension String {
    var trimmingNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}
