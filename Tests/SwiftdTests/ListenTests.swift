import Glibc
import Daemonize
import TestSupport
import Testing

/// `--listen`: what the service receives (descriptors, LISTEN_* variables,
/// Listeners.inherited()), the socket files, privileges, and bad input.
@Suite(.hangLimit) struct ListenTests {
    /// Starts `fixture listeners` as NAME with `listen` addresses; what it wrote.
    func startListeners(_ h: Harness, _ name: String, _ listen: [String], _ extra: [String] = [], fixture: [String] = []) throws -> [String] {
        let out = h.scratch.file("\(name).out")
        let start = try h.swiftd(["start", name] + listen.flatMap { ["--listen", $0] } + extra + ["--", h.fixturePath, "listeners", "--out", out] + fixture)
        #expect(start.code == 0, "\(start)")
        var lines: [String] = []
        #expect(eventually { lines = h.text("\(name).out").split(separator: "\n").map(String.init); return !lines.isEmpty })
        return lines
    }

    /// The kind of socket behind `pid`'s descriptor `fd` ("tcp", "udp", "unix"), from /proc.
    func socketKind(_ pid: pid_t, _ fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let n = readlink("/proc/\(pid)/fd/\(fd)", &buffer, buffer.count - 1)
        let link = String(decoding: buffer[..<max(n, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard link.hasPrefix("socket:[") else { return nil }
        let inode = String(link.dropFirst(8).dropLast())
        for kind in ["tcp", "udp", "tcp6", "unix"] {
            let table = String(decoding: (try? FileSystem.read("/proc/\(pid)/net/\(kind)", limit: 1 << 24)) ?? [], as: UTF8.self)
            if table.split(separator: "\n").contains(where: { $0.split(separator: " ").contains(Substring(inode)) }) { return kind }
        }
        return nil
    }

    @Test func socketsAreDescriptorsFromThreeWithTheirNamesForTheInstanceOnly() throws {
        try withHarness("listen-fds") { h throws in
            let tcp = try Loopback.freePort(), udp = try Loopback.freePort()
            let path = h.scratch.file("web.sock")
            let lines = try startListeners(h, "web", ["tcp:127.0.0.1:\(tcp),name=http", "udp:127.0.0.1:\(udp)", "unix:\(path),mode=0660,name=admin"])
            #expect(lines == ["3 http cloexec", "4 web cloexec", "5 admin cloexec", "LISTEN_PID=unset", "LISTEN_FDS=unset", "LISTEN_FDNAMES=unset"],
                    "Listeners.inherited() took them, made them close-on-exec and removed the variables")
            let pid = try #require(h.state("web")?.pid)
            #expect(socketKind(pid, 3) == "tcp")
            #expect(socketKind(pid, 4) == "udp")
            #expect(socketKind(pid, 5) == "unix")
            #expect(socketKind(pid, 6) == nil, "nothing more")
            let st = try #require(try FileSystem.linkStatus(path))
            #expect(st.st_mode & S_IFMT == S_IFSOCK && st.st_mode & 0o777 == 0o660)
            // A connection waits in the backlog even though the fixture never accepts.
            #expect(Loopback.connects(tcp))
            #expect(try h.swiftd(["stop", "web"]).code == 0)
            #expect(!FileSystem.exists(path), "the socket file goes with the supervisor")
            #expect(!Loopback.connects(tcp), "the port is closed")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func aServiceWithoutListenGetsNoSocketVariables() throws {
        try withHarness("listen-none") { h throws in
            let inherited = Environment.setting("LISTEN_FDS", to: "1", in: Environment.setting("LISTEN_PID", to: "1", in: h.scratch.environment))
            let out = h.scratch.file("plain.out")
            let start = try h.swiftd(["start", "plain", "--", h.fixturePath, "listeners", "--out", out, "--keep-variables"], environment: inherited)
            #expect(start.code == 0, "\(start)")
            #expect(eventually { h.text("plain.out").contains("LISTEN_FDS=unset") }, "\(h.text("plain.out"))")
            #expect(h.text("plain.out").contains("LISTEN_PID=unset"))
            #expect(try h.swiftd(["stop", "plain"]).code == 0)
        }
    }

    @Test(.requires(.hostileUser))
    func aUserServiceServesAPrivilegedPort() throws {
        try withUserHarness("listen-root") { h, user throws in
            let port = try #require((600..<1000).map(UInt16.init).first { !Loopback.connects($0) && Loopback.canBind($0) })
            let start = try h.swiftd(["start", "low", "--listen", "tcp:127.0.0.1:\(port)", "--user", HostileUser.name, "--", h.fixturePath, "listeners"])
            #expect(start.code == 0, "\(start)")
            let pid = try #require(h.state("low")?.pid)
            let status = String(decoding: try FileSystem.read("/proc/\(pid)/status", limit: 1 << 16), as: UTF8.self)
            #expect(status.split(separator: "\n").contains { $0.hasPrefix("Uid:\t\(user.uid)\t") }, "\(status)")
            #expect(socketKind(pid, 3) == "tcp")
            #expect(Loopback.connects(port))
            #expect(try h.swiftd(["stop", "low"]).code == 0)
            // As the user, the same address is not permitted: exit 4, nothing left.
            let own = h.scratch.file("user")
            try FileSystem.makeDirectories(own, mode: 0o755)
            #expect(chown(own, user.uid, user.gid) == 0)
            let refused = try user.run(h, h.swiftdPath, ["start", "mine", "--run-dir", own, "--log-dir", own, "--listen", "tcp:127.0.0.1:\(port)",
                                                         "--", "/bin/sleep", "100"])
            #expect(refused.code == 4, "\(refused)")
            #expect(refused.stderr.contains("cannot listen on tcp:127.0.0.1:\(port): bind: Permission denied"), "\(refused)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test(.requires(.ipv6Loopback))
    func anIPv6AddressIsBoundAndListening() throws {
        try withHarness("listen-tcp6") { h throws in
            let port = try Loopback.freePort()
            let lines = try startListeners(h, "six", ["tcp6:[::1]:\(port),name=v6"])
            #expect(lines.first == "3 v6 cloexec", "\(lines)")
            let pid = try #require(h.state("six")?.pid)
            #expect(socketKind(pid, 3) == "tcp6")
            // In /proc/net/tcp6: local address ::1 with the port, state 0A (LISTEN).
            let hex = String(port, radix: 16, uppercase: true)
            let local = "00000000000000000000000001000000:" + String(repeating: "0", count: 4 - hex.count) + hex
            let table = String(decoding: try FileSystem.read("/proc/\(pid)/net/tcp6", limit: 1 << 24), as: UTF8.self)
            #expect(table.split(separator: "\n").contains { line in
                let fields = line.split(separator: " ")
                return fields.count > 3 && fields[1] == local && fields[3] == "0A"
            }, "\(local) in \(table)")
            #expect(try h.swiftd(["stop", "six"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test(.requires(.hostileUser))
    func aUnixSocketFileTakesTheOwnerAndModeItIsGiven() throws {
        try withUserHarness("listen-owner") { h, user throws in
            let path = h.scratch.file("owned.sock")
            _ = try startListeners(h, "owned", ["unix:\(path),owner=\(HostileUser.name),mode=0600"])
            let st = try #require(try FileSystem.linkStatus(path))
            #expect(st.st_mode & S_IFMT == S_IFSOCK && st.st_mode & 0o777 == 0o600)
            #expect(st.st_uid == user.uid, "owner= USER changes the user")
            #expect(st.st_gid == getegid(), "and leaves the group")
            #expect(try h.swiftd(["stop", "owned"]).code == 0)
            #expect(!FileSystem.exists(path))
            let unknown = try h.swiftd(["start", "nobody", "--listen", "unix:\(h.scratch.file("x.sock")),owner=no-such-user-here", "--", "/bin/sleep", "100"])
            #expect(unknown.code != 0 && unknown.stderr.contains("owner=no-such-user-here"), "\(unknown)")
            #expect(!FileSystem.exists(h.scratch.file("x.sock")))
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func badAddressesAreRefusedAndLeaveNothing() throws {
        try withHarness("listen-bad") { h throws in
            for (address, message) in [("tcp:127.0.0.1:99999", "port '99999' is not a number"), ("http:x:80", "unknown kind 'http:'"),
                                       ("tcp6:::1:80", "an IPv6 address is written in brackets"), ("unix:relative.sock", "the path must be absolute"),
                                       ("tcp:127.0.0.1:80,mode=0600", "mode= and owner= are for unix:")] {
                let start = try h.swiftd(["start", "bad", "--listen", address, "--", "/bin/sleep", "100"])
                #expect(start.code == 2, "\(address): \(start)")
                #expect(start.stderr.contains("bad value for --listen: '\(address)' (\(message)"), "\(start)")
            }
            let exec = try h.swiftd(["start", "bad", "--no-supervise", "--listen", "tcp:127.0.0.1:1", "--", "/bin/sleep", "100"])
            #expect(exec.code == 2 && exec.stderr.contains("listen needs the supervisor"), "\(exec)")
            let fd = try h.swiftd(["start", "bad", "--listen", "tcp:127.0.0.1:1", "--ready", "fd:3", "--", "/bin/sleep", "100"])
            #expect(fd.code == 2 && fd.stderr.contains("ready = fd:3 is taken by listen"), "\(fd)")
            let forking = try h.swiftd(["start", "bad", "--listen", "tcp:127.0.0.1:1", "--pidfile", h.scratch.file("d.pid"), "--", "/bin/true"])
            #expect(forking.code == 2 && forking.stderr.contains("listen cannot be used with pidfile"), "\(forking)")
            let overlap = try h.swiftd(["start", "bad", "--restart-mode", "overlap", "--pidfile", h.scratch.file("d.pid"), "--", "/bin/true"])
            #expect(overlap.code == 2 && overlap.stderr.contains("restart-mode = overlap cannot be used with pidfile"), "\(overlap)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func anAddressInUseFailsTheStartAndClosesWhatWasBound() throws {
        try withHarness("listen-busy") { h throws in
            let free = try Loopback.freePort()
            let path = h.scratch.file("first.sock")
            _ = try startListeners(h, "holder", ["tcp:127.0.0.1:\(free)"])
            let start = try h.swiftd(["start", "second", "--listen", "unix:\(path)", "--listen", "tcp:127.0.0.1:\(free)", "--", "/bin/sleep", "100"])
            #expect(start.code == 1, "\(start)")
            #expect(start.stderr.contains("cannot listen on tcp:127.0.0.1:\(free): bind: Address already in use"), "\(start)")
            #expect(!FileSystem.exists(path), "the unix socket bound first was closed and removed")
            #expect(try h.swiftd(["status", "second"]).code != 0)
            #expect(h.lockHolder("second") == nil)
            // Another file where the socket goes is never replaced.
            try FileSystem.writeAtomically(path, Array("data\n".utf8))
            let file = try h.swiftd(["start", "third", "--listen", "unix:\(path)", "--", "/bin/sleep", "100"])
            #expect(file.code == 1 && file.stderr.contains("cannot listen on unix:\(path): bind: File exists"), "\(file)")
            #expect(h.text("first.sock") == "data\n")
            #expect(try h.swiftd(["stop", "holder"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func aSocketFileLeftByAKilledSupervisorIsReplaced() throws {
        try withHarness("listen-stale") { h throws in
            let path = h.scratch.file("app.sock")
            _ = try startListeners(h, "app", ["unix:\(path)"])
            let supervisor = try #require(h.state("app")?.supervisorPID)
            kill(supervisor, SIGKILL)
            #expect(eventually { h.lockHolder("app") == nil })
            #expect(try h.swiftd(["stop", "app"]).code == 0, "what the dead supervisor left is stopped")
            #expect(FileSystem.exists(path), "a SIGKILLed supervisor leaves its socket file")
            try FileSystem.remove(h.scratch.file("app.out"))
            _ = try startListeners(h, "app", ["unix:\(path)"])
            #expect(try FileSystem.linkStatus(path).map { $0.st_mode & S_IFMT == S_IFSOCK } == true)
            #expect(try h.swiftd(["stop", "app"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// A socket a killed supervisor left with `owner=` belongs to that user:
    /// it is a leftover of this setting all the same, and replaced.
    @Test(.requires(.hostileUser))
    func aSocketFileWithAnOwnerLeftByAKilledSupervisorIsReplaced() throws {
        try withUserHarness("listen-stale-owner") { h, user throws in
            let path = h.scratch.file("owned.sock")
            let listen = "unix:\(path),owner=\(HostileUser.name),mode=0660"
            _ = try startListeners(h, "app", [listen])
            kill(try #require(h.state("app")?.supervisorPID), SIGKILL)
            #expect(eventually { h.lockHolder("app") == nil })
            #expect(try h.swiftd(["stop", "app"]).code == 0)
            #expect(try FileSystem.linkStatus(path)?.st_uid == user.uid, "the leftover is the owner='s")
            try FileSystem.remove(h.scratch.file("app.out"))
            _ = try startListeners(h, "app", [listen])
            let st = try #require(try FileSystem.linkStatus(path))
            #expect(st.st_mode & S_IFMT == S_IFSOCK && st.st_mode & 0o777 == 0o660 && st.st_uid == user.uid, "a new socket with its owner and mode")
            #expect(try h.swiftd(["stop", "app"]).code == 0)
            #expect(!FileSystem.exists(path))
            #expect(!FileSystem.exists(h.scratch.file(".owned.sock.swiftd")), "the private directory is removed after")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// Only a leftover is replaced: another user's socket (one that is not
    /// this setting's owner=), a socket someone listens on, and a symlink to
    /// a leftover are refused, and left as they were.
    @Test(.requires(.hostileUser))
    func aSocketFileThatIsNoLeftoverIsRefusedAndLeftAlone() throws {
        try withUserHarness("listen-not-stale") { h, user throws in
            let shared = h.scratch.file("shared")
            mkdir(shared, 0o1777)
            chmod(shared, 0o1777)
            let stranger = Path.join(shared, "stranger.sock")
            #expect(try user.run(h, h.fixturePath, ["race", "bind", "--path", stranger]).code == 0)
            let foreign = try h.swiftd(["start", "a", "--listen", "unix:\(stranger)", "--", "/bin/sleep", "100"])
            #expect(foreign.code == 4 && foreign.stderr.contains("a socket file of uid \(user.uid) is there"), "\(foreign)")
            #expect(try FileSystem.linkStatus(stranger)?.st_uid == user.uid)
            let live = Path.join(shared, "live.sock")
            let listener = try user.spawn(h, h.fixturePath, ["race", "bind", "--path", live, "--listen"])
            #expect(eventually { FileSystem.exists(live) })
            let busy = try h.swiftd(["start", "b", "--listen", "unix:\(live),owner=\(HostileUser.name)", "--", "/bin/sleep", "100"])
            #expect(busy.code == 1 && busy.stderr.contains("Address already in use"), "\(busy)")
            #expect(listener.isRunning && FileSystem.exists(live))
            let link = h.scratch.file("link.sock")
            symlink(stranger, link)
            let linked = try h.swiftd(["start", "c", "--listen", "unix:\(link),owner=\(HostileUser.name)", "--", "/bin/sleep", "100"])
            #expect(linked.code == 1 && linked.stderr.contains("bind: File exists"), "\(linked)")
            #expect(try FileSystem.linkStatus(link).map { $0.st_mode & S_IFMT == S_IFLNK } == true)
            #expect(FileSystem.exists(stranger))
            listener.signal(SIGKILL)
            #expect(h.scratch.markedProcesses().filter { $0 != listener.pid }.isEmpty)
        }
    }
}
