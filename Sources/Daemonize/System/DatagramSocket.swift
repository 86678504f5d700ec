package import Glibc
internal import CDaemonize

/// A unix socket address from a `NOTIFY_SOCKET` value: a path, or an
/// abstract name written with a leading "@".
package struct NotifyAddress: Hashable, Sendable {
    /// The bytes of `sun_path` (a leading NUL for an abstract name).
    package let pathBytes: [UInt8]

    /// Nil when the value is empty, relative or too long for `sun_path`.
    package init?(_ value: String) {
        var bytes = value.platformBytes
        if bytes.first == UInt8(ascii: "@") {
            bytes[0] = 0
        } else if bytes.first != UInt8(ascii: "/") {
            return nil
        }
        guard bytes.count > 1, bytes.count < 108 else { return nil }
        pathBytes = bytes
    }

    /// Calls `body` with a `sockaddr_un` for this address and its length.
    package func withSocketAddress<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
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

/// A unix datagram socket: the supervisor's end of the sd_notify protocol
/// (bound, with the senders' credentials), and one-shot sends to it.
struct DatagramSocket {
    let descriptor: FileDescriptor

    /// A non-blocking socket bound to `address` that receives its senders'
    /// credentials.
    ///
    /// The corresponding C functions are `socket`, `bind` and `setsockopt` (`SO_PASSCRED`).
    static func bound(to address: NotifyAddress, path: String) throws -> DatagramSocket {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if fd < 0 { throw SystemError("socket") }
        let descriptor = FileDescriptor(rawValue: fd)
        if address.withSocketAddress({ bind(fd, $0, $1) }) != 0 {
            let error = SystemError("bind", path: path)
            descriptor.close()
            throw error
        }
        if dz_enable_passcred(fd) != 0 {
            let error = SystemError("setsockopt", path: path)
            descriptor.close()
            throw error
        }
        return DatagramSocket(descriptor: descriptor)
    }

    /// A non-blocking socket connected to the unix datagram socket at `path`
    /// (a syslog daemon's /dev/log): each `send` is one datagram, and `poll`
    /// says writable once the reader's queue has room again.
    ///
    /// The corresponding C functions are `socket` and `connect`.
    static func connected(to address: NotifyAddress, path: String) throws -> FileDescriptor {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if fd < 0 { throw SystemError("socket") }
        let descriptor = FileDescriptor(rawValue: fd)
        if address.withSocketAddress({ addr, length in retryingOnInterrupt { connect(fd, addr, length) } }) != 0 {
            let error = SystemError("connect", path: path)
            descriptor.close()
            throw error
        }
        return descriptor
    }

    /// The next datagram and its sender's pid (0 when it carried no
    /// credentials), nil when none is waiting. Descriptors sent along are closed.
    ///
    /// The corresponding C function is `recvmsg`.
    func receive(limit: Int = 4096) -> (bytes: ArraySlice<UInt8>, sender: pid_t)? {
        var bytes = [UInt8](repeating: 0, count: limit)
        var sender: pid_t = 0
        let n = bytes.withUnsafeMutableBytes { dz_recv_credentials(descriptor.rawValue, $0.baseAddress, $0.count, &sender) }
        guard n >= 0 else { return nil }
        return (bytes[0..<n], sender)
    }

    /// Sends `bytes` as one datagram to `address` from a socket of its own.
    ///
    /// The corresponding C functions are `socket` and `sendto`.
    static func send(_ bytes: [UInt8], to address: NotifyAddress) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw SystemError("socket") }
        defer { FileDescriptor(rawValue: fd).close() }
        var bytes = bytes
        let sent = address.withSocketAddress { addr, length in
            bytes.withUnsafeMutableBytes { buffer in
                retryingOnInterrupt { sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), addr, length) }
            }
        }
        if sent != bytes.count { throw SystemError("sendto") }
    }
}
