import Glibc
import Daemonize
import TestSupport
import Testing

/// `--listen` and `--restart-mode overlap` under load: a real HTTP server
/// that takes its socket from LISTEN_FDS (Tests/fixtures/listen-server.py,
/// graceful on SIGTERM) and a client in another process asking all the
/// time, a 200 ms request always in flight (Tests/fixtures/load-client.py).
/// 50 restarts of each kind: no connection may be refused (the supervisor
/// holds the socket: a connection waits in the backlog for the next
/// instance), and with overlap no request may fail. Serialized: each test
/// keeps both cores busy.
@Suite(.serialized, .hangLimit, .requires(.python3))
struct ZeroDowntimeTests {
    static let fixtures = Path.join(Path.directory(of: Path.directory(of: Path.directory(of: #filePath))), "Tests/fixtures")
    static let rounds = 50

    enum Mode: String, CaseIterable, CustomStringConvertible {
        case stopFirst = "stop-first", overlap
        var description: String { rawValue }
    }

    /// Starts the server as NAME on a free port; returns the port.
    func startServer(_ h: Harness, _ name: String, _ mode: Mode, _ extra: [String] = []) throws -> UInt16 {
        let port = try Loopback.freePort()
        try FileSystem.writeAtomically(h.scratch.file("version"), Array("v0\n".utf8))
        let start = try h.swiftd(["start", name, "--listen", "tcp:127.0.0.1:\(port)", "--ready", "notify", "--restart-mode", mode.rawValue,
                                  // Ready means ready here: a short settle keeps 50 overlap restarts short.
                                  "--stop-timeout", "5s", "--settle", "200ms"] + extra
                                 + ["--", "/usr/bin/python3", Path.join(Self.fixtures, "listen-server.py"), "--version-file", h.scratch.file("version")])
        #expect(start.code == 0, "\(start)")
        return port
    }

    /// Runs the client while `body` runs; what it saw.
    func underLoad(_ h: Harness, _ port: UInt16, _ body: () throws -> Void) throws -> Load {
        try Load.during(h.scratch, port: port, body)
    }

    /// The body of GET / (pid=... version=...), nil when nothing answers.
    func served(_ port: UInt16) -> String? {
        Loopback.body(port, "GET / HTTP/1.0\r\n\r\n")
    }

    func mainPID(_ h: Harness, _ name: String) -> pid_t? { h.state(name)?.pid }

    /// Waits until the client is answered again after the round: counted
    /// from once the round's new instance serves.
    func expectServedAgain(_ h: Harness, _ round: Int) {
        let before = Load.answered(h.scratch)
        #expect(eventually(timeout: 20) { Load.answered(h.scratch) > before }, "round \(round): the client is answered again (\(before) answers before)")
    }

    /// The client was answered after every round (a client that never got
    /// through counts no refusal either), no connection was refused (nor,
    /// with `noneFailed`, a request failed); then the service stops and
    /// leaves no process.
    func expectNoDowntime(_ h: Harness, _ load: Load, noneFailed: Bool) throws {
        #expect(load.ok >= Self.rounds, "\(load)")
        #expect(load.refused == 0, "\(load)")
        if noneFailed { #expect(load.failed == 0, "\(load)") }
        #expect(try h.swiftd(["stop", "web"]).code == 0)
        #expect(h.scratch.markedProcesses().isEmpty)
    }

    @Test(arguments: Mode.allCases)
    func restartCommand(_ mode: Mode) throws {
        try withHarness("zero-restart-\(mode)") { h throws in
            let port = try startServer(h, "web", mode)
            let load = try underLoad(h, port) {
                for round in 1...Self.rounds {
                    let before = try #require(mainPID(h, "web"))
                    let restart = try h.swiftd(["restart", "web"])
                    #expect(restart.code == 0, "round \(round): \(restart)")
                    #expect(mainPID(h, "web").map { $0 != before } == true, "round \(round): a new instance serves")
                    expectServedAgain(h, round)
                }
            }
            try expectNoDowntime(h, load, noneFailed: mode == .overlap)
        }
    }

    @Test(arguments: Mode.allCases)
    func watchedChange(_ mode: Mode) throws {
        try withHarness("zero-watch-\(mode)") { h throws in
            let port = try startServer(h, "web", mode, ["--watch", h.scratch.file("version")])
            let load = try underLoad(h, port) {
                for round in 1...Self.rounds {
                    try FileSystem.writeAtomically(h.scratch.file("version"), Array("v\(round)\n".utf8))
                    #expect(eventually(timeout: 20) { served(port)?.contains("version=v\(round) ") == true },
                            "round \(round): the new version serves")
                    expectServedAgain(h, round)
                }
            }
            try expectNoDowntime(h, load, noneFailed: mode == .overlap)
        }
    }

    /// A crash drops what the dead process was answering; no connection is refused meanwhile.
    @Test(arguments: Mode.allCases)
    func crashRespawn(_ mode: Mode) throws {
        try withHarness("zero-crash-\(mode)") { h throws in
            let port = try startServer(h, "web", mode, ["--restart", "always", "--restart-delay", "0s", "--start-limit", "none"])
            let load = try underLoad(h, port) {
                for round in 1...Self.rounds {
                    let victim = try #require(mainPID(h, "web"))
                    kill(victim, SIGKILL)
                    #expect(eventually(timeout: 20) { served(port).map { !$0.hasPrefix("pid=\(victim) ") } == true && h.state("web")?.phase == .running },
                            "round \(round): a new instance serves")
                    expectServedAgain(h, round)
                }
            }
            try expectNoDowntime(h, load, noneFailed: false)
        }
    }
}
