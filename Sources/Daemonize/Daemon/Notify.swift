/// Tells a supervisor about readiness over `$NOTIFY_SOCKET`, in the sd_notify
/// datagram protocol: works under systemd's `Type=notify` and under
/// `swiftd --ready notify`. Every call is a no-op when the variable is unset.
public enum Notify {
    /// Sends "READY=1": startup is complete.
    @discardableResult
    public static func ready(status: String? = nil) -> Bool {
        send("READY=1" + (status.map { "\nSTATUS=\($0)" } ?? ""))
    }

    /// Sends "STATUS=text": a line for `status` to show.
    @discardableResult
    public static func status(_ text: String) -> Bool { send("STATUS=\(text)") }

    /// Sends "STOPPING=1".
    @discardableResult
    public static func stopping() -> Bool { send("STOPPING=1") }

    /// Sends "RELOADING=1".
    @discardableResult
    public static func reloading() -> Bool { send("RELOADING=1") }

    /// Sends "ERRNO=n": startup failed with this errno.
    @discardableResult
    public static func failed(errno: Errno) -> Bool { send("ERRNO=\(errno.rawValue)") }

    /// Sends `state` ("KEY=VALUE" lines) as one datagram to `$NOTIFY_SOCKET`.
    /// Returns false when the variable is unset or the send failed.
    @discardableResult
    public static func send(_ state: String, socket path: String? = Environment.value("NOTIFY_SOCKET")) -> Bool {
        guard let path, !path.isEmpty else { return false }
        guard let address = NotifyAddress(path) else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { _ = close(fd) }
        var bytes = Array(state.utf8)
        return address.withSocketAddress { addr, length in
            bytes.withUnsafeMutableBytes { buffer in
                retryingOnInterrupt { sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), addr, length) } == buffer.count
            }
        }
    }
}

/// A unix socket address from a `NOTIFY_SOCKET` value: a path, or an
/// abstract name written with a leading "@".
public struct NotifyAddress: Hashable, Sendable {
    /// The bytes of `sun_path` (a leading NUL for an abstract name).
    public let pathBytes: [UInt8]

    /// Nil when the value is empty, relative or too long for `sun_path`.
    public init?(_ value: String) {
        var bytes = Array(value.utf8)
        if bytes.first == UInt8(ascii: "@") {
            bytes[0] = 0
        } else if bytes.first != UInt8(ascii: "/") {
            return nil
        }
        guard bytes.count > 1, bytes.count < 108 else { return nil }
        pathBytes = bytes
    }

    /// Calls `body` with a `sockaddr_un` for this address and its length.
    public func withSocketAddress<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in pathBytes.enumerated() { raw[i] = b }
        }
        // Abstract names are exactly their bytes long; paths end with a NUL.
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        let length = pathOffset + pathBytes.count + (pathBytes.first == 0 ? 0 : 1)
        return withUnsafePointer(to: &addr) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(length)) }
        }
    }
}
