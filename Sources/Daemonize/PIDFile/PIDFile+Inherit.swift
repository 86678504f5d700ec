public import Glibc

extension PIDFile {
    /// The environment variable through which a lock crosses `exec`:
    /// "PID:FD:PATH", the pid of the process meant to adopt it (the one that
    /// execs: `exec` keeps the pid), the descriptor's number and the
    /// pidfile's path. `keepAcrossExec()` sets it; `inherited()` reads it and
    /// removes it, so that the program's own children never see it.
    public static let environmentVariable = "DAEMONIZE_PIDFILE"

    /// Takes over a lock this process was handed as `descriptor` (inherited
    /// across `exec`, or received any other way): checks that the descriptor
    /// is the file `path` names, owned by this user or by root, and that its
    /// lock is this descriptor's (a non-blocking `flock` on it succeeds only
    /// then, or when nobody holds the lock, in which case it is taken now),
    /// marks it close-on-exec and writes `pid` unless the file already holds
    /// it. The file is never opened again: a daemon that dropped its
    /// privileges after root locked the file adopts it across `exec` (the
    /// pid is the same, so nothing needs writing). FreeBSD has no equivalent.
    ///
    /// - Throws: `PIDFile.Locked` when another process's descriptor holds the
    ///   lock, `InvalidFile` (`otherFile`) when the descriptor is not the file
    ///   at `path`, or a `SystemError` (`EBADF` when it is not open).
    public static func adopt(descriptor: CInt, at path: String, pid: pid_t? = getpid()) throws -> PIDFile {
        let fd = FileDescriptor(rawValue: descriptor)
        let st: stat
        do {
            st = try fd.status()
        } catch let error as SystemError {
            throw SystemError("fstat", path: "descriptor \(descriptor)", errno: error.errno)
        }
        let file = FileLocks.FileID(st)
        guard let named = try? FileSystem.linkStatus(path), FileLocks.FileID(named) == file else {
            throw InvalidFile(.pidFile, path, .otherFile, message: "descriptor \(descriptor) is not the file \(path) names (refused)")
        }
        // Root's file is as safe as this user's: nobody else can open it.
        if st.st_uid == 0 && CurrentProcess.effectiveUserID != 0 {
            guard st.st_mode & S_IFMT == S_IFREG else { throw InvalidFile(.pidFile, path, .wrongType, message: "open \(path): not a regular file") }
        } else {
            try checkOwnership(st, path: path)
        }
        switch takeExclusiveLock(fd, file: file) {
        case .taken: break
        case .heldByAnother(let holder):
            throw Locked(path: path, pid: (try? Snapshot.read(path)).flatMap { $0.map { parsePID($0.content) } } ?? nil, holder: holder)
        case .failed(let errno): throw SystemError("flock", path: path, errno: errno)
        }
        do {
            try fd.setCloseOnExec(true)
        } catch let error as SystemError {
            throw error.at(path)
        }
        // After an exec the file already names this process: nothing to write
        // (and a process that dropped its privileges could not write root's file).
        let wanted = Array((pid.map { "\($0)\n" } ?? "").utf8)
        let holds = (try? fd.read(upTo: 32, at: 0)) == wanted
        return try finish(fd, path: path, pid: pid, mode: st.st_mode & 0o7777, writing: !holds)
    }

    /// The lock handed to this process across `exec` through
    /// `environmentVariable`, adopted (see `adopt(descriptor:at:pid:)`); nil
    /// when the variable is unset or meant for another process (a pid that
    /// is not this one's). The variable is removed either way.
    ///
    /// - Parameter path: When given, the handed lock must be this pidfile.
    /// - Throws: as `adopt`, or `InvalidFile` (`malformed`) for a variable
    ///   that cannot be read or names another path.
    public static func inherited(at path: String? = nil, pid: pid_t? = getpid()) throws -> PIDFile? {
        guard let value = Environment.value(environmentVariable) else { return nil }
        Environment.set(environmentVariable, to: nil)
        guard let (first, rest) = value.splitAtFirst(":"), let (second, handed) = rest.splitAtFirst(":"),
              let owner = pid_t(first), let fd = CInt(second), fd > 2, !handed.isEmpty else {
            throw InvalidFile(.pidFile, value, .malformed, message: "\(environmentVariable)=\(value): expected PID:FD:PATH")
        }
        guard owner == CurrentProcess.id else { return nil }
        if let path, Path.absolute(path) != Path.absolute(handed) {
            throw InvalidFile(.pidFile, handed, .malformed, message: "\(environmentVariable) names \(handed), not \(path)")
        }
        return try adopt(descriptor: fd, at: handed, pid: pid)
    }

    /// Lets the lock survive the next `exec` of this process: clears the
    /// descriptor's close-on-exec flag (`fcntl`) and sets
    /// `environmentVariable`, so that the program exec'd calls `inherited()`.
    /// `daemon.reexec(keeping:)` does this for you.
    ///
    /// - Throws: a `SystemError` (`EBADF` once released).
    public func keepAcrossExec() throws {
        guard let fd = descriptors.first else { throw SystemError("fcntl", path: path, errno: .badDescriptor) }
        do {
            try fd.setCloseOnExec(false)
        } catch let error as SystemError {
            throw error.at(path)
        }
        Environment.set(PIDFile.environmentVariable, to: "\(CurrentProcess.id):\(fd.rawValue):\(Path.absolute(path))")
    }
}
