// server
// An HTTP server that takes its sockets from whoever supervises it, as swiftd
// --listen (or a systemd .socket unit) passes them: Listeners.inherited().
// Run under `swiftd start web --listen tcp::8080 --ready notify
// --restart-mode overlap -- server`, a restart never refuses a connection.
// Each answer is "hello from pid N" (N: the instance that answered). On
// SIGTERM it stops accepting, answers what it has accepted, and exits 0.
import Daemonize
import Glibc

let listeners: [Listeners.Socket]
do {
    listeners = try Listeners.inherited()
} catch {
    complain("server: \(error)")
    exit(1)
}
guard !listeners.isEmpty else {
    complain("server: no sockets passed (run it under swiftd --listen, or with LISTEN_FDS)")
    exit(1)
}

// SIGTERM is taken in the loop, never in the middle of an answer.
var signals = sigset_t()
sigemptyset(&signals)
sigaddset(&signals, SIGTERM)
sigprocmask(SIG_BLOCK, &signals, nil)

Notify.ready(status: "serving on \(listeners.map(\.name).joined(separator: ", "))")

/// Answers one connection: reads the request (its first chunk is enough here), writes the answer.
func answer(_ connection: CInt) {
    var request = [UInt8](repeating: 0, count: 4096)
    _ = read(connection, &request, request.count)
    let body = "hello from pid \(getpid())\n"
    let response = "HTTP/1.0 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
    _ = response.withCString { write(connection, $0, strlen($0)) }
    close(connection)
}

while true {
    var zero = timespec(tv_sec: 0, tv_nsec: 0)
    if sigtimedwait(&signals, nil, &zero) == SIGTERM { exit(0) }
    var fds = listeners.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
    guard poll(&fds, nfds_t(fds.count), 100) > 0 else { continue }
    for fd in fds where fd.revents & Int16(POLLIN) != 0 {
        let connection = accept(fd.fd, nil, nil)
        if connection >= 0 { answer(connection) }
    }
}

/// Writes `message` and a newline to standard error.
func complain(_ message: String) {
    let line = message + "\n"
    _ = write(2, line, line.utf8.count)
}
