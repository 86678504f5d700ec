import Glibc
import Daemonize
import TestSupport
import Testing

/// A real service: python3 -m http.server on a free loopback port.
@Suite(.timeLimit(.minutes(5))) struct HTTPServerTests {
    /// A port nobody listens on right now.
    func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f000001).bigEndian
        address.sin_port = 0
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return UInt16(bigEndian: address.sin_port)
    }

    /// GET / on 127.0.0.1:port; the response's first line, or nil.
    func get(_ port: UInt16) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f000001).bigEndian
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let request = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"
        _ = request.withCString { write(fd, $0, strlen($0)) }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            response += chunk[0..<n]
        }
        return String(decoding: response, as: UTF8.self).split(separator: "\r\n").first.map(String.init)
    }

    @Test(.enabled(if: FileSystem.exists("/usr/bin/python3") || Environment.value("PATH")?.contains("python") == true))
    func pythonHTTPServerServesAndStops() throws {
        try withHarness("http") { h throws in
            let port = try freePort()
            let start = try h.swiftd(["start", "web", "--chdir", h.scratch.path, "--", "python3", "-m", "http.server", "\(port)", "--bind", "127.0.0.1"])
            #expect(start.code == 0, "\(start)")
            var first: String?
            #expect(eventually(timeout: 15) { first = get(port); return first != nil })
            #expect(first?.hasPrefix("HTTP/1.0 200") == true, "\(first ?? "no answer")")
            let stop = try h.swiftd(["stop", "web"])
            #expect(stop.code == 0, "\(stop)")
            #expect(get(port) == nil)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }
}
