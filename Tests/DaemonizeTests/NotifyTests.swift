import Glibc
import Daemonize
import TestSupport
import Testing

/// `Notify` against a datagram socket this test binds (no fork needed).
@Suite(.hangLimit) struct NotifyTests {
    func receive(on fd: Int32) -> String? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 5000) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }

    func bound(_ address: NotifyAddress) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let r = address.withSocketAddress { bind(fd, $0, $1) }
        if r != 0 { throw SystemError("bind") }
        return fd
    }

    @Test func abstractSocket() throws {
        try withScratch("notify-abstract") { scratch throws in
            let name = "@swiftd-test-\(getpid())-\(Monotonic.now())"
            let fd = try bound(try #require(NotifyAddress(name)))
            defer { close(fd) }
            let env = Environment.setting("NOTIFY_SOCKET", to: name, in: scratch.environment)
            let result = try run(product("fixture"), ["notify", "READY=1", "STATUS=serving"], environment: env)
            #expect(result.code == 0, "\(result)")
            #expect(receive(on: fd) == "READY=1\nSTATUS=serving")
        }
    }

    @Test func pathSocket() throws {
        try withScratch("notify-path") { scratch throws in
            let path = scratch.file("notify.sock")
            let fd = try bound(try #require(NotifyAddress(path)))
            defer { close(fd) }
            let env = Environment.setting("NOTIFY_SOCKET", to: path, in: scratch.environment)
            let result = try run(product("fixture"), ["notify", "READY=1"], environment: env)
            #expect(result.code == 0, "\(result)")
            #expect(receive(on: fd) == "READY=1")
        }
    }

    @Test func unsetIsANoOp() throws {
        try withScratch("notify-unset") { scratch throws in
            let env = Environment.setting("NOTIFY_SOCKET", to: nil, in: scratch.environment)
            let result = try run(product("fixture"), ["notify", "READY=1"], environment: env)
            #expect(result.values["sent"] == "no")
        }
    }
}
