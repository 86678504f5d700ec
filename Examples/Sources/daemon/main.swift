// daemon [--pidfile FILE] [--keep-pidfile] [--out FILE] [--err FILE]
//        [--user USER] [--port N] [--ready-timeout MS] [--never-ready]
// A daemon that shows every DaemonOptions setting. With --port it binds
// 127.0.0.1:N in its privileged action (a port below 1024 needs root), then
// becomes --user and answers each connection with "uid=U". It writes a line
// to each of its outputs, and ends cleanly on SIGTERM (its pidfile removed).
import Daemonize
import Glibc

var options = DaemonOptions()
var port: UInt16?
var neverReady = false
var arguments = Array(CommandLine.arguments.dropFirst())
while let option = arguments.first {
    arguments.removeFirst()
    switch option {
    case "--pidfile": options.pidFile = arguments.removeFirst()
    case "--keep-pidfile": options.removePIDFileAtExit = false
    case "--out": options.standardOutput = .file(arguments.removeFirst())
    case "--err": options.standardError = .file(arguments.removeFirst())
    case "--user": options.user = arguments.removeFirst()
    case "--port": port = UInt16(arguments.removeFirst())
    case "--ready-timeout": options.readyTimeout = .milliseconds(Int(arguments.removeFirst()) ?? 0)
    case "--never-ready": neverReady = true
    default: complain("daemon: unknown option \(option)"); exit(2)
    }
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
    guard fd >= 0, bound == 0, Glibc.listen(fd, 16) == 0 else {
        throw BindError(port: port, errno: Errno(rawValue: errno))
    }
    return fd
}

struct BindError: Error, CustomStringConvertible {
    var port: UInt16
    var errno: Errno
    var description: String { "bind 127.0.0.1:\(port): \(errno)" }
}

// The signals the loop waits for, blocked before anything forks.
var signals = sigset_t()
sigemptyset(&signals)
sigaddset(&signals, SIGTERM)
sigprocmask(SIG_BLOCK, &signals, nil)

let daemon: Daemon
let listener: CInt?
do {
    let detached = try Daemon.detach(options, privileged: { try port.map(listen(on:)) })
    daemon = detached.daemon
    listener = detached.privileged ?? nil
} catch {
    complain("daemon: \(error)")
    exit(1)
}
print("out: daemon \(getpid()) uid \(getuid())")
complain("err: daemon \(getpid())")
fflush(nil)
if !neverReady { daemon.ready() }

while true {
    var timeout = timespec(tv_sec: 0, tv_nsec: 50_000_000)
    if sigtimedwait(&signals, nil, &timeout) == SIGTERM { exit(0) }
    guard let listening = listener else { continue }
    var ready = pollfd(fd: listening, events: Int16(POLLIN), revents: 0)
    guard poll(&ready, 1, 0) == 1 else { continue }
    let connection = accept(listening, nil, nil)
    guard connection >= 0 else { continue }
    let reply = "uid=\(getuid())\n"
    _ = write(connection, reply, reply.utf8.count)
    close(connection)
}

/// Writes `message` and a newline to standard error.
func complain(_ message: String) {
    let line = message + "\n"
    _ = write(2, line, line.utf8.count)
}
