/// The supervisor's end of the sd_notify protocol: an abstract datagram
/// socket whose name the service gets as `NOTIFY_SOCKET`. Messages carry the
/// sender's credentials; only the service's own processes are listened to.
final class NotifyListener {
    /// One datagram's "KEY=VALUE" assignments and its sender.
    struct Message {
        var sender: pid_t
        var fields: [String: String]
    }

    let descriptor: FileDescriptor
    /// The value for `NOTIFY_SOCKET` ("@swiftd/NAME/PID").
    let address: String

    init(name: ServiceName) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if fd < 0 { throw SystemError("socket") }
        descriptor = FileDescriptor(rawValue: fd)
        address = "@swiftd/\(name)/\(getpid())/\(Monotonic.now() % 1_000_000)"
        guard let sockaddr = NotifyAddress(address) else { throw SystemError("bind", path: address, errno: .invalid) }
        if sockaddr.withSocketAddress({ bind(fd, $0, $1) }) != 0 {
            let error = SystemError("bind", path: address)
            descriptor.close()
            throw error
        }
        if dz_enable_passcred(fd) != 0 {
            let error = SystemError("setsockopt", path: address)
            descriptor.close()
            throw error
        }
    }

    /// The next datagram, or nil when none is waiting.
    func receive() -> Message? {
        var bytes = [UInt8](repeating: 0, count: 4096)
        var sender: pid_t = 0
        let n = bytes.withUnsafeMutableBytes { dz_recv_credentials(descriptor.rawValue, $0.baseAddress, $0.count, &sender) }
        guard n >= 0 else { return nil }
        return Message(sender: sender, fields: NotifyListener.parse(bytes[0..<n]))
    }

    /// "READY=1\nSTATUS=x" -> ["READY": "1", "STATUS": "x"]; lines without "=" are ignored.
    static func parse(_ bytes: ArraySlice<UInt8>) -> [String: String] {
        var fields: [String: String] = [:]
        for line in bytes.split(separator: 10) {
            guard let eq = line.firstIndex(of: UInt8(ascii: "=")) else { continue }
            fields[String(decoding: line[line.startIndex..<eq], as: UTF8.self)] = String(decoding: line[(eq + 1)...], as: UTF8.self)
        }
        return fields
    }

    func close() { descriptor.close() }
}
