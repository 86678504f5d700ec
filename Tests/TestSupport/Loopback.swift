import Glibc
import Daemonize

/// TCP on 127.0.0.1, for tests of real servers: a port nobody listens on,
/// and one request's first line of answer.
package enum Loopback {
    static func address(_ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f000001).bigEndian
        address.sin_port = port.bigEndian
        return address
    }

    /// A port nobody listens on right now (the kernel's pick for a bind to port 0).
    package static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        defer { close(fd) }
        var address = address(0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw SystemError("bind") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Sends `request` to 127.0.0.1:`port` and returns the first line of the
    /// answer (without its line end); nil when nothing listens or nothing
    /// comes within `timeout` seconds.
    package static func ask(_ port: UInt16, _ request: String, timeout: Double = 10) -> String? {
        exchange(port, request, timeout: timeout, whole: false).flatMap { response in
            guard let line = response.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).first else { return nil }
            return String(decoding: line.last == UInt8(ascii: "\r") ? line.dropLast() : line, as: UTF8.self)
        }
    }

    /// The body of the answer to `request` (after its blank line), read to
    /// its end; nil when nothing listens or no whole answer comes.
    package static func body(_ port: UInt16, _ request: String, timeout: Double = 10) -> String? {
        guard let response = exchange(port, request, timeout: timeout, whole: true) else { return nil }
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let start = response.indices.first(where: { response[$0...].starts(with: separator) }) else { return nil }
        return String(decoding: response[(start + 4)...], as: UTF8.self)
    }

    /// Sends `request` and reads the answer: its first line, or (`whole`) to
    /// the end; nil when nothing listens or nothing comes.
    private static func exchange(_ port: UInt16, _ request: String, timeout: Double, whole: Bool) -> [UInt8]? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = address(port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        _ = request.withCString { write(fd, $0, strlen($0)) }
        let deadline = Monotonic.now() + Int64(timeout * 1e9)
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while whole || !response.contains(UInt8(ascii: "\n")) {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Monotonic.millisecondsUntil(deadline)) == 1 else { return whole ? nil : response.isEmpty ? nil : response }
            let n = read(fd, &chunk, chunk.count)
            if n < 0 { return nil }
            if n == 0 { break }
            response += chunk[0..<n]
        }
        return response.isEmpty ? nil : response
    }

    /// True when a TCP connection to 127.0.0.1:`port` is accepted by the
    /// kernel (something listens, whether or not it ever calls accept).
    package static func connects(_ port: UInt16) -> Bool { onNewSocket(port) { connect($0, $1, $2) } }

    /// True when this process could bind 127.0.0.1:`port` now.
    package static func canBind(_ port: UInt16) -> Bool { onNewSocket(port) { bind($0, $1, $2) } }

    /// `call` on a new TCP socket and the address 127.0.0.1:`port`: true when it returned 0.
    private static func onNewSocket(_ port: UInt16, _ call: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = address(port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
