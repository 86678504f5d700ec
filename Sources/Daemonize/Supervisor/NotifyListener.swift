internal import Glibc

/// The supervisor's end of the sd_notify protocol: an abstract datagram
/// socket whose name the service gets as `NOTIFY_SOCKET`. Messages carry the
/// sender's credentials; only the service's own processes are listened to.
final class NotifyListener {
    /// One datagram's "KEY=VALUE" assignments and its sender.
    struct Message {
        var sender: pid_t
        var fields: [String: String]
    }

    private let socket: DatagramSocket
    var descriptor: FileDescriptor { socket.descriptor }
    /// The value for `NOTIFY_SOCKET` ("@swiftd/NAME/PID/N").
    let address: String

    init(name: ServiceName) throws {
        address = "@swiftd/\(name)/\(CurrentProcess.id)/\(Monotonic.now() % 1_000_000)"
        guard let sockaddr = NotifyAddress(address) else { throw SystemError("bind", path: address, errno: .invalid) }
        socket = try DatagramSocket.bound(to: sockaddr, path: address)
    }

    /// The next datagram, or nil when none is waiting.
    func receive() -> Message? {
        guard let datagram = socket.receive() else { return nil }
        return Message(sender: datagram.sender, fields: NotifyListener.parse(datagram.bytes))
    }

    /// "READY=1\nSTATUS=x" -> ["READY": "1", "STATUS": "x"]; lines without "=" are ignored.
    static func parse(_ bytes: ArraySlice<UInt8>) -> [String: String] {
        var fields: [String: String] = [:]
        for line in bytes.split(separator: 10) {
            guard let eq = line.firstIndex(of: UInt8(ascii: "=")) else { continue }
            fields[String(decoding: line[line.startIndex..<eq], as: UTF8.self)] = String(platformBytes: line[(eq + 1)...])
        }
        return fields
    }

    func close() { descriptor.close() }
}
