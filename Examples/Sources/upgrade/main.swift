// upgrade --pidfile FILE --log FILE --port N [--user USER]
// A daemon that upgrades itself in place, written from README.md and
// Daemonize(3): as root it binds 127.0.0.1:N (below 1024 needs root) and
// locks its pidfile, then becomes USER and answers each connection with
// "pid P uid U exe PATH". On SIGUSR2 it re-executes the program at the path
// it was started from (a deploy swapped `current -> v2`: v2 now runs), as
// the same daemon: same pid, the pidfile lock held, the socket kept. On
// SIGTERM it exits. Signals come from a SignalSequence, in an async main.
// It says which signals it started with blocked and ignored (a reexec
// must start it as afresh: none), before anything else.
import Daemonize
import Glibc

@main
struct Upgrade {
    static func main() async throws {
        // How this image started (after a reexec: in the log), as a program started afresh must.
        print("started with signals blocked \(field("SigBlk")) ignored \(field("SigIgn"))")
        var options = DaemonOptions()
        var port: UInt16 = 0
        var arguments = Array(CommandLine.arguments.dropFirst())
        while let option = arguments.first {
            arguments.removeFirst()
            switch option {
            case "--pidfile": options.pidFile = arguments.removeFirst()
            case "--log": options.standardOutput = .file(arguments[0]); options.standardError = .file(arguments.removeFirst())
            case "--port": port = UInt16(arguments.removeFirst()) ?? 0
            case "--user": options.user = arguments.removeFirst()
            default: complain("upgrade: unknown option \(option)"); exit(2)
            }
        }
        signal(SIGPIPE, SIG_IGN)

        // First, before any thread: detach (as root: bind, then drop to the user),
        // then trap the signals, then say ready.
        let (daemon, bound) = try Daemon.detach(options, privileged: { try listen(on: port) })
        // After a reexec the privileged action does not run again: the socket is the one kept.
        guard let listener = bound ?? daemon.keptDescriptors.first else {
            daemon.fail("upgrade: no listening socket")
            exit(1)
        }
        let signals = try SignalSequence(trapping: .terminate, .user2)
        print("pid \(getpid()) uid \(getuid()) serving \(executable())")
        daemon.ready()

        await withTaskGroup(of: Void.self) { group in
            group.addTask { await serve(listener) }
            group.addTask {
                for await signal in signals {
                    if signal == .user2 {
                        print("upgrading (pid \(getpid()))")
                        let error = daemon.reexec(keeping: [listener])
                        print("reexec failed: \(error)")
                    } else {
                        print("stopping (pid \(getpid()))")
                        exit(0)
                    }
                }
            }
        }
    }
}

/// Answers each connection on `listener` with this process's pid, uid and executable.
func serve(_ listener: CInt) async {
    while !Task.isCancelled {
        var ready = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&ready, 1, 0) == 1 else {
            try? await Task.sleep(for: .milliseconds(10))
            continue
        }
        let connection = accept(listener, nil, nil)
        guard connection >= 0 else { continue }
        let reply = "pid \(getpid()) uid \(getuid()) exe \(executable())\n"
        _ = write(connection, reply, reply.utf8.count)
        close(connection)
    }
}

/// The file running now, as the kernel names it (links resolved).
func executable() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    return String(decoding: buffer[..<max(n, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A field of /proc/thread-self/status: this thread's "SigBlk", "SigIgn"...
func field(_ name: String) -> String {
    let fd = open("/proc/thread-self/status", O_RDONLY)
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 8192)
    let n = read(fd, &buffer, buffer.count)
    let lines = String(decoding: buffer[..<max(n, 0)], as: UTF8.self).split(separator: "\n")
    return lines.first { $0.hasPrefix(name + ":") }.map { String($0.dropFirst(name.count + 1).drop { $0 == "\t" || $0 == " " }) } ?? "?"
}

/// A listening TCP socket on 127.0.0.1:port.
func listen(on port: UInt16) throws -> CInt {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    var on: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard fd >= 0, bound == 0, Glibc.listen(fd, 64) == 0 else {
        let error = errno
        close(fd)
        throw BindError(port: port, errno: Daemonize.Errno(rawValue: error))
    }
    return fd
}

struct BindError: Error, CustomStringConvertible {
    var port: UInt16
    var errno: Daemonize.Errno
    var description: String { "bind 127.0.0.1:\(port): \(errno)" }
}

/// Writes `message` and a newline to standard error.
func complain(_ message: String) {
    let line = message + "\n"
    _ = write(2, line, line.utf8.count)
}
