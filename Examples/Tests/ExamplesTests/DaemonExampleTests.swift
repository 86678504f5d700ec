import Glibc
import Testing
import Daemonize

/// Daemon.detach and every DaemonOptions setting, from a library user's
/// program (Examples/Sources/daemon, asyncmain), checked through /proc.
@Suite(.hangLimit)
struct DaemonExampleTests {
    /// The unprivileged user make check creates, when it exists and we are root.
    static var testUser: (uid_t, gid_t)? {
        guard geteuid() == 0, let entry = getpwnam("swiftd-test") else { return nil }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// Calls `body` with 127.0.0.1:port as a socket address.
    static func loopback<T>(_ port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// A port below 1024 nobody listens on (binding it needs root).
    static func freePrivilegedPort() -> UInt16? {
        for port in UInt16(600)...UInt16(1000) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            if loopback(port, { bind(fd, $0, $1) }) == 0 { return port }
        }
        return nil
    }

    /// What a connection to 127.0.0.1:port reads.
    static func answer(on port: UInt16) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        guard loopback(port, { connect(fd, $0, $1) }) == 0 else { return "connect failed: \(errno)" }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buffer, buffer.count)
        return String(decoding: buffer[..<max(n, 0)], as: UTF8.self)
    }

    @Test(.requires("root and the user swiftd-test (make check creates it)", { testUser != nil }))
    func thePrivilegedActionBindsAsRootThenTheDaemonRunsAsTheUser() throws {
        try withSandbox("privileged") { sandbox in
            let (uid, _) = try #require(Self.testUser)
            let port = try #require(Self.freePrivilegedPort())
            let out = sandbox.file("out.log"), err = sandbox.file("err.log"), pidFile = sandbox.file("d.pid")
            let start = sandbox.run("daemon", ["--pidfile", pidFile, "--port", "\(port)", "--user", "swiftd-test", "--out", out, "--err", err])
            #expect(start.code == 0, "\(start)")
            let pid = try #require(readPID(pidFile, sandbox))
            #expect(status(pid, "Uid", sandbox) == "\(uid)\t\(uid)\t\(uid)\t\(uid)")
            #expect(Self.answer(on: port) == "uid=\(uid)\n")
            #expect(eventually { sandbox.read(out) == "out: daemon \(pid) uid \(uid)\n" }, "\(sandbox.read(out))")
            #expect(sandbox.read(err) == "err: daemon \(pid)\n", "standard error has its own file")
        }
    }

    @Test func aCleanExitRemovesThePidfileUnlessAskedToKeepIt() throws {
        try withSandbox("pidfile-exit") { sandbox in
            for keep in [false, true] {
                let pidFile = sandbox.file("d\(keep).pid")
                let start = sandbox.run("daemon", ["--pidfile", pidFile] + (keep ? ["--keep-pidfile"] : []))
                #expect(start.code == 0, "\(start)")
                let pid = try #require(readPID(pidFile, sandbox))
                kill(pid, SIGTERM)
                #expect(eventually { Sandbox.state(of: pid) == nil || Sandbox.state(of: pid) == "Z" })
                if keep {
                    #expect(PIDFile.status(at: pidFile) == .stale(pid: pid))
                } else {
                    #expect(PIDFile.status(at: pidFile) == .absent)
                }
            }
        }
    }

    @Test func aDaemonNotReadyInTimeIsStoppedAndTheStartFails() {
        withSandbox("ready-timeout") { sandbox in
            let pidFile = sandbox.file("d.pid")
            let start = sandbox.run("daemon", ["--pidfile", pidFile, "--never-ready", "--ready-timeout", "300"])
            #expect(start.code == 1, "\(start)")
            #expect(start.stderr.contains("not ready after 300ms: stopped"), "\(start)")
            #expect(sandbox.processes().isEmpty, "the daemon was stopped")
        }
    }

    @Test(.requires("root and the user swiftd-test (make check creates it)", { testUser != nil }))
    func anUnsearchablePidfileDirectoryIsPermissionDenied() throws {
        try withSandbox("eacces") { sandbox in
            let user = try #require(Self.testUser)
            let closed = sandbox.file("closed")
            mkdir(closed, 0o700)
            mkdir(closed + "/run", 0o755)
            let start = sandbox.run("daemon", ["--pidfile", closed + "/run/d.pid"], user: user)
            #expect(start.code == 1, "\(start)")
            #expect(start.stderr.contains("Permission denied") && !start.stderr.contains("No such file"), "\(start)")
            #expect(sandbox.processes().isEmpty)
        }
    }

    @Test func detachIsTheFirstStatementOfAnAsyncMain() throws {
        try withSandbox("async") { sandbox in
            let pidFile = sandbox.file("a.pid"), marker = sandbox.file("tasks")
            let start = sandbox.run("asyncmain", [pidFile, marker])
            #expect(start.code == 0, "\(start)")
            let pid = try #require(readPID(pidFile, sandbox))
            #expect(start.stdout == "async daemon \(pid) ready\n")
            let lines = sandbox.read(marker).split(separator: "\n")
            #expect(lines.count == 3 && lines.allSatisfy { $0.contains("pid \(pid) lock ") && !$0.hasSuffix("none") }, "\(lines)")
            #expect(status(pid, "PPid", sandbox) != "\(getpid())", "the daemon is not the test's child")
            #expect(getsid(pid) != getsid(0), "the daemon has a session of its own")
            #expect(PIDFile.lockHolder(at: pidFile) == pid)
        }
    }
}
