import Glibc
import Testing
import Daemonize

/// Notify from a library user's program (Examples/Sources/notify), against
/// a datagram socket this test binds.
@Suite(.hangLimit)
struct NotifyExampleTests {
    /// A bound unix datagram socket at `path`.
    static func listen(_ path: String) -> CInt {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return fd
    }

    static func receive(_ fd: CInt) -> String {
        var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&ready, 1, 5000) == 1 else { return "(nothing)" }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return String(decoding: buffer[..<max(n, 0)], as: UTF8.self)
    }

    static func monotonicMicroseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    @Test func eachCallSaysWhatBecameOfItsMessage() {
        withSandbox("notify") { sandbox in
            #expect(sandbox.run("notify", ["ready"]).stdout == "no supervisor\n")
            let missing = sandbox.run("notify", ["ready"], environment: ["NOTIFY_SOCKET=\(sandbox.file("nobody"))"])
            #expect(missing.stdout.hasPrefix("failed: ") && missing.stdout.contains("No such file or directory"), "\(missing)")
            let path = sandbox.file("notify.sock")
            let fd = Self.listen(path)
            defer { close(fd) }
            #expect(sandbox.run("notify", ["ready"], environment: ["NOTIFY_SOCKET=\(path)"]).stdout == "sent\n")
            #expect(Self.receive(fd) == "READY=1\nSTATUS=all good")
            #expect(sandbox.run("notify", ["watchdog"], environment: ["NOTIFY_SOCKET=\(path)"]).stdout == "sent\n")
            #expect(Self.receive(fd) == "WATCHDOG=1")
        }
    }

    @Test func reloadingCarriesTheMonotonicTime() throws {
        try withSandbox("reloading") { sandbox in
            let path = sandbox.file("notify.sock")
            let fd = Self.listen(path)
            defer { close(fd) }
            let before = Self.monotonicMicroseconds()
            #expect(sandbox.run("notify", ["reloading"], environment: ["NOTIFY_SOCKET=\(path)"]).stdout == "sent\n")
            let after = Self.monotonicMicroseconds()
            let message = Self.receive(fd).split(separator: "\n")
            #expect(message.first == "RELOADING=1")
            let usec = try #require(message.last.flatMap { $0.hasPrefix("MONOTONIC_USEC=") ? Int64($0.dropFirst(15)) : nil })
            #expect(usec >= before && usec <= after)
        }
    }

    @Test func theWatchdogIntervalIsReadFromTheEnvironment() {
        withSandbox("interval") { sandbox in
            #expect(sandbox.run("notify", ["interval"], environment: ["WATCHDOG_USEC=2500000"]).stdout == "2.5 seconds\n")
            #expect(sandbox.run("notify", ["interval"]).stdout == "none\n")
            #expect(sandbox.run("notify", ["interval"], environment: ["WATCHDOG_USEC=2500000", "WATCHDOG_PID=1"]).stdout == "none\n",
                    "meant for another process")
        }
    }
}
