import Glibc
import Testing
import Daemonize

/// A hot upgrade as a deploy does it, through Examples/Sources/upgrade (a
/// program on the public API only): a root launch binds a port below 1024
/// and drops to swiftd-test; `current` is swapped to v2 and the daemon gets
/// SIGUSR2; the same pid serves v2 as swiftd-test, its pidfile lock held and
/// its socket kept; TERM stops it. Serialized: each case takes a privileged port.
@Suite(.serialized, .hangLimit)
struct UpgradeExampleTests {
    /// How the program is started: by an absolute path through the link, by a
    /// path relative to the directory it was started in (detach then moves
    /// to /), by a bare name found through PATH, or by an absolute path with
    /// a byte that is not UTF-8 (0xff) in a directory's name.
    enum Start: String, CaseIterable, Sendable { case absolute, relative, bareName, nonUTF8 }

    @Test(.requires("root and the user swiftd-test (make check creates it)", { DaemonExampleTests.testUser != nil }), arguments: Start.allCases)
    func aSwappedLinkAndUSR2RunV2InTheSameProcessWithItsLockAndSocket(start: Start) throws {
        try withSandbox("upgrade-\(start.rawValue)") { sandbox in
            let (uid, _) = try #require(DaemonExampleTests.testUser)
            let port = try #require(Self.freePort())
            // The releases live in $B: the sandbox, or a directory of it whose name ends in byte 0xff.
            let base = start == .nonUTF8 ? "B='\(sandbox.directory)/app-'\"$(printf '\\377')\"; " : "B='\(sandbox.directory)'; "
            let dir = start == .nonUTF8 ? sandbox.directory + "/app-\u{FFFD}" : sandbox.directory
            let product = Sandbox.product("upgrade")
            #expect(sandbox.shell(base + """
                mkdir -p "$B/releases/v1" "$B/releases/v2" '\(sandbox.directory)/run' && \
                cp '\(product)' "$B/releases/v1/app" && cp '\(product)' "$B/releases/v2/app" && \
                ln -s releases/v1 "$B/current"
                """) == 0)
            let pidFile = sandbox.file("run/app.pid"), log = sandbox.file("app.log")
            let options = "--pidfile '\(pidFile)' --log '\(log)' --port \(port) --user swiftd-test"
            let command: String
            switch start {
            case .absolute, .nonUTF8: command = "exec \"$B/current/app\" \(options)"
            case .relative: command = "cd \"$B\" && exec ./current/app \(options)"
            case .bareName: command = "PATH=\"$B/current:$PATH\" exec app \(options)"
            }
            let started = sandbox.run("/bin/sh", ["-c", base + command])
            #expect(started.code == 0, "\(started)")
            let pid = try #require(readPID(pidFile, sandbox))
            #expect(Self.answer(port) == "pid \(pid) uid \(uid) exe \(dir)/releases/v1/app\n")

            // The deploy: v2 behind the link, then USR2.
            #expect(sandbox.shell(base + "ln -s releases/v2 \"$B/current.new\" && mv -T \"$B/current.new\" \"$B/current\"") == 0)
            kill(pid, SIGUSR2)
            let v2 = "pid \(pid) uid \(uid) exe \(dir)/releases/v2/app\n"
            #expect(eventually { Self.answer(port) == v2 }, "\(Self.answer(port)) \(sandbox.read(log))")
            // The lock held by the same process, never released in between.
            #expect(PIDFile.status(at: pidFile) == .running(pid: pid), "\(sandbox.read(log))")
            #expect(PIDFile.lockHolder(at: pidFile) == pid)
            // What it printed just before the exec reached the log.
            let lines = sandbox.read(log).split(separator: "\n")
            #expect(lines.contains("upgrading (pid \(pid))"), "\(lines)")

            kill(pid, SIGTERM)
            #expect(eventually { Sandbox.state(of: pid) == nil || Sandbox.state(of: pid) == "Z" }, "\(sandbox.read(log))")
            #expect(PIDFile.status(at: pidFile) != .running(pid: pid))
            // Both images wrote their lines (the second flushes its own at exit).
            let all = sandbox.read(log).split(separator: "\n")
            #expect(all.filter { $0.hasPrefix("pid \(pid) uid \(uid) serving") }.count == 2, "\(all)")
            #expect(all.last == "stopping (pid \(pid))", "\(all)")
            // The new image started as afresh, whatever thread called reexec: no signal blocked (the
            // task's thread blocked nearly all), none ignored (the old image ignored SIGPIPE).
            #expect(all.contains("started with signals blocked 0000000000000000 ignored 0000000000000000"), "\(all)")
        }
    }

    /// The signals are trapped before `ready()`: a TERM sent the moment the
    /// start returns reaches the program's own loop (it says "stopping"),
    /// never the default action, in 20 starts out of 20.
    @Test func aTermRightAfterReadyIsNeverLost() throws {
        try withSandbox("upgrade-term") { sandbox in
            for round in 1...20 {
                let pidFile = sandbox.file("app\(round).pid"), log = sandbox.file("app\(round).log")
                let started = sandbox.run("upgrade", ["--pidfile", pidFile, "--log", log, "--port", "0"])
                #expect(started.code == 0, "\(started)")
                let pid = try #require(readPID(pidFile, sandbox))
                kill(pid, SIGTERM)
                #expect(eventually { sandbox.read(log).hasSuffix("stopping (pid \(pid))\n") }, "round \(round): \(sandbox.read(log))")
                #expect(eventually { PIDFile.status(at: pidFile) == .absent }, "round \(round): removed at exit")
            }
        }
    }

    /// Port 80 when it is free, else another one below 1024 (binding needs root).
    static func freePort() -> UInt16? {
        for port in [UInt16(80)] + Array(UInt16(900)...UInt16(1023)).reversed() {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var on: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            if DaemonExampleTests.loopback(port, { bind(fd, $0, $1) }) == 0 { return port }
        }
        return nil
    }

    /// Everything a connection to 127.0.0.1:port reads, up to its end.
    static func answer(_ port: UInt16) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        guard DaemonExampleTests.loopback(port, { connect(fd, $0, $1) }) == 0 else { return "connect failed: \(errno)" }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            bytes += buffer[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
