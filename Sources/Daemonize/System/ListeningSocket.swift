package import Glibc

/// A socket bound (and, for a stream, listening) by the supervisor and held
/// across its service's restarts: what `listen` settings become. Blocking,
/// close-on-exec in the supervisor; each instance gets its own duplicate.
package struct ListeningSocket {
    package let descriptor: FileDescriptor
    /// A unix socket's file and its identity: removed at the end only if it
    /// is still the one this socket created.
    private let file: (path: String, device: UInt64, inode: UInt64)?

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
        let found = getaddrinfo(host, "\(port)", &hints, &list)
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

    /// A unix stream socket at `path`, its file given `mode` and, when set,
    /// `owner` and `group`. A socket file nobody listens on any more (left by
    /// a supervisor that was killed) is replaced; anything else at `path`
    /// (a live socket, another file, a symlink, another user's socket) is refused.
    ///
    /// The corresponding C functions are `socket`, `connect` (to tell a stale
    /// socket), `unlink`, `umask`, `bind`, `chmod`, `lchown` and `listen`.
    package static func unix(path: String, mode: mode_t, owner: uid_t?, group: gid_t?, label: String) throws -> ListeningSocket {
        guard let address = NotifyAddress(path) else { throw SystemError("bind", path: label, errno: .invalid) }
        try removeStale(path, address: address, label: label)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw SystemError("socket", path: label) }
        let descriptor = FileDescriptor(rawValue: fd)
        var created = false
        do {
            // Created unreachable by others, then given its mode: never wider in between.
            let previous = umask(0o177)
            let bound = address.withSocketAddress { bind(fd, $0, $1) }
            let bindErrno = Errno.current
            umask(previous)
            if bound != 0 { throw SystemError("bind", path: label, errno: bindErrno) }
            created = true
            if owner != nil || group != nil, lchown(path, owner ?? uid_t.max, group ?? gid_t.max) != 0 { throw SystemError("chown", path: label) }
            if chmod(path, mode) != 0 { throw SystemError("chmod", path: label) }
            if Glibc.listen(fd, SOMAXCONN) != 0 { throw SystemError("listen", path: label) }
            guard let st = try FileSystem.linkStatus(path) else { throw SystemError("lstat", path: label, errno: .noSuchFile) }
            return ListeningSocket(descriptor: descriptor, file: (path, UInt64(st.st_dev), UInt64(st.st_ino)))
        } catch {
            descriptor.close()
            if created { unlink(path) }
            throw error
        }
    }

    /// Removes a socket file at `path` that nobody listens on and that this
    /// user owns; throws for anything else there.
    private static func removeStale(_ path: String, address: NotifyAddress, label: String) throws {
        guard let st = try FileSystem.linkStatus(path) else { return }
        guard st.st_mode & S_IFMT == S_IFSOCK else { throw SystemError("bind", path: label, errno: .exists) }
        guard st.st_uid == geteuid() else { throw SystemError("bind", path: label, errno: .notPermitted) }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if probe < 0 { throw SystemError("socket", path: label) }
        let connected = address.withSocketAddress { addr, length in retryingOnInterrupt { connect(probe, addr, length) } }
        let connectErrno = Errno.current
        FileDescriptor(rawValue: probe).close()
        if connected == 0 { throw SystemError("bind", path: label, errno: Errno(rawValue: EADDRINUSE)) }
        guard connectErrno == Errno(rawValue: ECONNREFUSED) else { throw SystemError("connect", path: label, errno: connectErrno) }
        try FileSystem.remove(path)
    }

    /// Closes the socket and removes its file if it is still this socket's.
    package func close() {
        descriptor.close()
        guard let file, let st = try? FileSystem.linkStatus(file.path),
              UInt64(st.st_dev) == file.device, UInt64(st.st_ino) == file.inode else { return }
        try? FileSystem.remove(file.path)
    }
}
