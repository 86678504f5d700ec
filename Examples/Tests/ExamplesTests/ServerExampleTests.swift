import Daemonize
import Glibc
import Testing

/// The server example takes its socket the way swiftd --listen passes it:
/// descriptor 3, LISTEN_FDS, LISTEN_FDNAMES, and LISTEN_PID naming it.
@Suite struct ServerExampleTests {
    /// A listening socket on a free loopback port, close-on-exec here.
    static func listening() -> (fd: CInt, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                _ = bind(fd, pointer, length)
                return getsockname(fd, pointer, &length)
            }
        }
        _ = Glibc.listen(fd, 16)
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    /// The body of GET / on the port, or nil.
    static func get(_ port: UInt16) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        _ = "GET / HTTP/1.0\r\n\r\n".withCString { write(fd, $0, strlen($0)) }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            response += chunk[..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        return text.split(separator: "\r\n\r\n", maxSplits: 1).last.map(String.init)
    }

    @Test func theServerAnswersOnThePassedSocketAndEndsOnTERM() {
        withSandbox("server") { sandbox in
            let (fd, port) = Self.listening()
            defer { close(fd) }
            // sh's pid is the server's after exec: LISTEN_PID names it, as swiftd's child sets it.
            let pid = sandbox.spawn("/bin/sh", ["-c", "LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=http exec \"$0\"", Sandbox.product("server")],
                                    descriptors: [3: fd])
            var body: String?
            #expect(eventually { body = Self.get(port); return body != nil })
            #expect(body == "hello from pid \(pid)\n")
            kill(pid, SIGTERM)
            let status = sandbox.wait(pid)
            #expect(status == 0, "exit status \(status)")
        }
    }

    /// A listening socket on descriptor 3 with LISTEN_PID naming another
    /// process: not the server's to take (it was passed to that process).
    @Test func socketsMeantForAnotherProcessAreNotTaken() {
        withSandbox("server-other") { sandbox in
            let (fd, _) = Self.listening()
            defer { close(fd) }
            // The shell checks that descriptor 3 is there, then becomes the server.
            let script = "test -e /proc/$$/fd/3 || { echo 'no descriptor 3' >&2; exit 9; }; LISTEN_PID=1 LISTEN_FDS=1 exec \"$0\""
            let result = sandbox.run("/bin/sh", ["-c", script, Sandbox.product("server")], descriptors: [3: fd])
            #expect(result.code == 1 && result.stderr.contains("no sockets passed"), "\(result)")
        }
    }
}
