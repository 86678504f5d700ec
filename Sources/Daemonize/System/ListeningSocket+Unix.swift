package import Glibc
internal import CDaemonize

/// A `listen` unix socket's file, set up so that another user who can write
/// its directory (a `/run/app` owned by the service's user) can never make
/// root change, probe or remove any other file: every call after the
/// directory is opened goes through its descriptor or the file's own (`O_PATH`),
/// none follows a name that could be swapped for a symlink between two calls.
///
/// - The socket is bound at its path (so that `getsockname` shows the path
///   the user gave), created 0600 (`umask` around `bind`); then the file at
///   the name is opened `O_PATH` and proven to be this socket's (a
///   connection through it reaches this listener, from this process) before
///   its owner and mode are set, through that descriptor.
/// - A file already at the path is replaced only when it is a socket nobody
///   listens on (left by a supervisor that was killed) owned by this user or
///   by the `owner=` user of this same setting (the owner such a leftover
///   was given); it is probed through an `O_PATH` descriptor, never through a
///   name that could lead elsewhere.
/// - A file is removed (a leftover, or this socket's at the end) only once it
///   has been moved into a directory only this user can write and found
///   there to be the very file that was checked; anything else found there
///   is put back.
struct UnixSocketFile {
    /// The socket's directory, opened once (following the path the caller gave).
    let directory: Directory
    /// The socket's name in it.
    let name: String
    /// The file this socket created, once set up.
    var identity: FileLocks.FileID?

    /// The name of the private directory beside the socket: created 0700 by
    /// this user when needed and removed after.
    var holdingName: String { ".\(name).swiftd" }

    init(path: String) throws {
        directory = try Directory.open(Path.directory(of: path), followingSymlink: true)
        name = Path.fileName(of: path)
    }

    /// Removes a socket file nobody listens on that one of `owners` owns;
    /// throws for anything else at the name (a live socket, another kind of
    /// file, a symlink, a stranger's socket).
    func removeLeftover(owners: [uid_t], label: String) throws {
        guard let found = try directory.openPath(name) else { return }
        defer { found.close() }
        let st = try found.status()
        guard st.st_mode & S_IFMT == S_IFSOCK else { throw SystemError("bind", path: label, errno: .exists) }
        guard owners.contains(st.st_uid) else {
            throw SystemError("a socket file of uid \(st.st_uid) is there (only one of this user or of owner= is replaced)", path: label, errno: .notPermitted)
        }
        switch try UnixSocketFile.connects(through: found, label: label) {
        case 0: throw SystemError("bind", path: label, errno: Errno(rawValue: EADDRINUSE))
        case ECONNREFUSED: break
        case let other: throw SystemError("connect", path: label, errno: Errno(rawValue: other))
        }
        if try !remove(FileLocks.FileID(st)) { throw SystemError("bind", path: label, errno: .exists) }
    }

    /// The errno of a connection to the socket `file` names (0 when one was
    /// made): through /proc, so that no name is looked up again. Throws when
    /// no socket could be made to try (EMFILE).
    static func connects(through file: FileDescriptor, label: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if fd < 0 { throw SystemError("socket", path: label) }
        defer { FileDescriptor(rawValue: fd).close() }
        guard let address = NotifyAddress("/proc/self/fd/\(file.rawValue)") else { return EINVAL }
        let connected = address.withSocketAddress { addr, length in retryingOnInterrupt { connect(fd, addr, length) } }
        return connected == 0 ? 0 : errno
    }

    /// The file at the name, open `O_PATH`, once proven to be the one
    /// `listener` (bound and listening) created: a socket of this user's to
    /// which a connection from this process arrives at `listener`.
    /// Connections that were waiting before it are closed.
    func openOwn(listener: FileDescriptor, label: String) throws -> FileDescriptor {
        let replaced = SystemError("bind: the socket file was replaced while it was set up", path: label, errno: .exists)
        guard let file = try directory.openPath(name) else { throw replaced }
        do {
            let st = try file.status()
            // (Its mode is not compared: a default ACL on the directory sets it, not the umask.)
            guard st.st_mode & S_IFMT == S_IFSOCK, st.st_uid == CurrentProcess.effectiveUserID else { throw replaced }
            let connected = try UnixSocketFile.connects(through: file, label: label)
            if connected == ECONNREFUSED { throw replaced }
            if connected != 0 { throw SystemError("connect", path: label, errno: Errno(rawValue: connected)) }
            while try listener.waitReadable(timeoutMilliseconds: 0) {
                let peer = dz_accept_peer_pid(listener.rawValue)
                if peer < 0 { throw SystemError("accept", path: label) }
                if peer == CurrentProcess.id { return file }
            }
            throw replaced
        } catch {
            file.close()
            throw error
        }
    }

    /// Removes the file at the name if it is `identity`: moved into the
    /// private directory first and checked there, where nobody else can put
    /// anything. False when another file had the name (it is put back).
    func remove(_ identity: FileLocks.FileID) throws -> Bool {
        let holding = try openHolding()
        defer {
            holding.close()
            try? directory.remove(holdingName, directory: true)
        }
        do {
            try directory.rename(name, to: name, in: holding)
        } catch let error as SystemError where error.errno == .noSuchFile {
            return false
        }
        CrashPoint.reach("listen-holding")
        if let moved = try holding.linkStatus(name), FileLocks.FileID(moved) == identity {
            try holding.remove(name)
            return true
        }
        // Someone with the right to write the directory put another file
        // there meanwhile: it goes back (unless the name was taken again;
        // then it waits in the private directory, which is then left).
        try? holding.rename(name, to: name, in: directory, replacing: .never)
        return false
    }

    /// The private directory beside the socket: this user's, 0700, empty.
    /// One left by a supervisor killed while it was there is used again.
    private func openHolding() throws -> Directory {
        _ = try directory.makeDirectory(holdingName, mode: 0o700)
        let holding = try directory.subdirectory(holdingName)
        do {
            let st = try holding.status()
            guard st.st_uid == CurrentProcess.effectiveUserID, st.st_mode & 0o077 == 0 else {
                throw SystemError("mkdir", path: directory.path(of: holdingName), errno: .exists)
            }
            try holding.remove(name)
            return holding
        } catch {
            holding.close()
            throw error
        }
    }

    /// At the end: removes the socket's file if the name still holds it.
    func removeOwn() {
        defer { directory.close() }
        guard let identity, let st = try? directory.linkStatus(name), FileLocks.FileID(st) == identity else { return }
        _ = try? remove(identity)
    }
}

extension ListeningSocket {
    /// A unix stream socket at `path`, its file given `mode` and, when set,
    /// `owner` and `group` (see `UnixSocketFile` for how, against another
    /// user who can write the directory). A socket file nobody listens on
    /// any more that this user or `owner` owns (left by a supervisor that
    /// was killed) is replaced; anything else at `path` is refused.
    ///
    /// The corresponding C functions are `socket`, `umask`, `bind`,
    /// `listen`, `connect` and `accept4` (to prove the file is this socket's),
    /// `fchownat` and `chmod` (through the file's descriptor).
    package static func unix(path: String, mode: mode_t, owner: uid_t?, group: gid_t?, label: String) throws -> ListeningSocket {
        guard let address = NotifyAddress(path) else { throw SystemError("bind", path: label, errno: .invalid) }
        var file = try UnixSocketFile(path: path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 {
            file.directory.close()
            throw SystemError("socket", path: label)
        }
        let descriptor = FileDescriptor(rawValue: fd)
        do {
            try file.removeLeftover(owners: [CurrentProcess.effectiveUserID] + (owner.map { [$0] } ?? []), label: label)
            // Created unreachable by others, then given its mode: never wider in between.
            let previous = umask(0o177)
            let bound = address.withSocketAddress { bind(fd, $0, $1) }
            let bindErrno = Errno.current
            umask(previous)
            if bound != 0 { throw SystemError("bind", path: label, errno: bindErrno) }
            if Glibc.listen(fd, SOMAXCONN) != 0 { throw SystemError("listen", path: label) }
            CrashPoint.reach("listen-bound")
            let own = try file.openOwn(listener: descriptor, label: label)
            defer { own.close() }
            file.identity = FileLocks.FileID(try own.status())
            if owner != nil || group != nil, dz_chown_fd(own.rawValue, owner ?? uid_t.max, group ?? gid_t.max) != 0 {
                throw SystemError("chown", path: label)
            }
            CrashPoint.reach("listen-owned")
            if "/proc/self/fd/\(own.rawValue)".withPlatformString({ chmod($0, mode) }) != 0 { throw SystemError("chmod", path: label) }
            return ListeningSocket(descriptor: descriptor, file: file)
        } catch {
            descriptor.close()
            file.removeOwn()
            throw error
        }
    }
}
