// asyncmain PIDFILE MARKER: detaches as the first statement of an async
// main (before Swift concurrency starts any thread), then keeps its lock
// and its daemon in a Sendable service handed to tasks, as a
// swift-service-lifecycle service would. Each task writes a line to MARKER.
import Daemonize
import Glibc

/// A lock in a global: PIDFile is Sendable.
let probeLock: PIDFile? = nil

struct Service: Sendable {
    let daemon: Daemon
    let lock: PIDFile

    func run(marker: String) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 1...3 {
                group.addTask {
                    try lock.write(pid: getpid())
                    let line = "task \(n) pid \(getpid()) lock \(lock.descriptor.map(String.init) ?? "none")\n"
                    let fd = open(marker, O_WRONLY | O_APPEND | O_CREAT, 0o644)
                    _ = write(fd, line, line.utf8.count)
                    close(fd)
                }
            }
            try await group.waitForAll()
        }
        daemon.ready("async daemon \(getpid()) ready")
    }
}

@main
struct AsyncMain {
    static func main() async throws {
        let daemon = try Daemon.detach(DaemonOptions(pidFile: CommandLine.arguments[1]))
        let service = Service(daemon: daemon, lock: daemon.pidFile!)
        try await Task { try await service.run(marker: CommandLine.arguments[2]) }.value
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
