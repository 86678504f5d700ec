internal import Glibc

/// A socket bound (and, for a stream, listening) by the supervisor and held
/// across its service's restarts: what `listen` settings become. Blocking,
/// close-on-exec in the supervisor; each instance gets its own duplicate.
package struct ListeningSocket {
    package let descriptor: FileDescriptor
    /// A unix socket's file: removed at the end only if it is still the one
    /// this socket created.
    let file: UnixSocketFile?

    /// A TCP or UDP socket on `host` (nil: every address) and `port`;
    /// `label` names it in errors ("bind tcp:0.0.0.0:80: Permission denied").
    ///
    /// The corresponding C functions are `getaddrinfo`, `socket`,
    /// `setsockopt` (`SO_REUSEADDR`, `IPV6_V6ONLY`), `bind` and `listen`.
    package static func internet(host: String?, port: UInt16, ipv6: Bool, datagram: Bool, label: String) throws -> ListeningSocket {
        try withAddress(host: host, port: port, ipv6: ipv6, datagram: datagram, label: label) { try bindInternet($0, datagram: datagram, ipv6: ipv6, label: label) }
    }

    /// Resolves `host` and `port` as `internet` would bind them, and binds nothing.
    ///
    /// The corresponding C function is `getaddrinfo`.
    package static func checkInternet(host: String?, port: UInt16, ipv6: Bool, datagram: Bool, label: String) throws {
        try withAddress(host: host, port: port, ipv6: ipv6, datagram: datagram, label: label) { _ in }
    }

    /// Calls `body` with the first address `getaddrinfo` gives for a passive socket.
    private static func withAddress<T>(host: String?, port: UInt16, ipv6: Bool, datagram: Bool, label: String,
                                       _ body: (addrinfo) throws -> T) throws -> T {
        var hints = addrinfo()
        hints.ai_family = ipv6 ? AF_INET6 : AF_INET
        hints.ai_socktype = Int32(datagram ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let found = "\(port)".withPlatformString { port in host.map { $0.withPlatformString { getaddrinfo($0, port, &hints, &list) } } ?? getaddrinfo(nil, port, &hints, &list) }
        guard found == 0, let first = list else {
            throw SystemError("getaddrinfo", path: label, errno: found == EAI_SYSTEM ? .current : .invalid)
        }
        defer { freeaddrinfo(list) }
        return try body(first.pointee)
    }

    private static func bindInternet(_ first: addrinfo, datagram: Bool, ipv6: Bool, label: String) throws -> ListeningSocket {
        let fd = socket(first.ai_family, first.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), first.ai_protocol)
        if fd < 0 { throw SystemError("socket", path: label) }
        let descriptor = FileDescriptor(rawValue: fd)
        do {
            var on: Int32 = 1
            // A restart of the supervisor binds again while old connections linger in TIME_WAIT.
            if !datagram, setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size)) != 0 {
                throw SystemError("setsockopt", path: label)
            }
            if ipv6, setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, socklen_t(MemoryLayout<Int32>.size)) != 0 {
                throw SystemError("setsockopt", path: label)
            }
            if bind(fd, first.ai_addr, first.ai_addrlen) != 0 { throw SystemError("bind", path: label) }
            if !datagram, Glibc.listen(fd, SOMAXCONN) != 0 { throw SystemError("listen", path: label) }
        } catch {
            descriptor.close()
            throw error
        }
        return ListeningSocket(descriptor: descriptor, file: nil)
    }

    /// Closes the socket and removes its file if it is still this socket's.
    package func close() {
        descriptor.close()
        file?.removeOwn()
    }
}
