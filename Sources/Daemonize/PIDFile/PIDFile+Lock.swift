package import Glibc

extension PIDFile {
    /// What an attempt at the exclusive lock found.
    enum LockAttempt: Equatable {
        case taken
        /// Another process holds it; the kernel's lock table names it (or not).
        case heldByAnother(pid_t?)
        case failed(Errno)
    }

    /// Takes the exclusive lock without waiting for a holder. Probes
    /// (`status(at:)`) hold a shared lock for a moment, so a failed attempt
    /// asks the kernel's lock table whether an exclusive holder exists (slow
    /// after a quiet spell, but this is the contended path only) and tries
    /// again when only probes were in the way. Acquirers never take shared
    /// locks themselves: many of them racing would keep each other out.
    static func takeExclusiveLock(_ fd: FileDescriptor, file: FileLocks.FileID) -> LockAttempt {
        let deadline = Monotonic.now() + 2_000_000_000
        var pause: Int64 = 20_000
        while true {
            do {
                if try fd.lock(.exclusive) { return .taken }
            } catch let error as SystemError {
                return .failed(error.errno)
            } catch {
                return .failed(.invalid)
            }
            if case .process(let taker) = FileLocks.flockHolder(of: file) { return .heldByAnother(liveHolder(taker, of: file)) }
            // Only probes: they let go within microseconds.
            if Monotonic.now() >= deadline { return .failed(.wouldBlock) }
            Monotonic.sleep(nanoseconds: pause)
            pause = min(pause * 2, 2_000_000)
        }
    }

    /// A process that holds the exclusive lock on `file`: `taker` (the
    /// process `/proc/locks` names) when it still holds it through one of its
    /// descriptors, else the first that does (a taker that handed the lock
    /// to a child and exited is no holder). Nil when none can be seen.
    static func liveHolder(_ taker: pid_t?, of file: FileLocks.FileID) -> pid_t? {
        if let taker, FileLocks.holdsExclusiveLock(pid: taker, on: file) { return taker }
        return FileLocks.holders(of: file).first
    }

    /// The holder of a lock we could not take: the pid it wrote, waited for
    /// briefly while it has not written one yet. Nil when the lock was
    /// released (or the file removed) in the meantime.
    static func holderReport(path: String, holder: pid_t?, waitForPID: Int64) -> Locked? {
        let deadline = Monotonic.now() + waitForPID
        var pause: Int64 = 200_000
        while true {
            guard let snapshot = try? Snapshot.read(path), snapshot.locked else { return nil }
            let pid = parsePID(snapshot.content)
            if pid != nil || Monotonic.now() >= deadline { return Locked(path: path, pid: pid, holder: holder) }
            Monotonic.sleep(nanoseconds: pause)
            pause = min(pause * 2, 10_000_000)
        }
    }

    /// A new file, locked, under a temporary name beside `name` in
    /// `directory` (named after the calling thread: one left there by a dead
    /// writer is removed first). Returns it and its name.
    static func lockedTemporary(for name: String, in directory: Directory, mode: mode_t) throws -> (FileDescriptor, String) {
        let temporary = ".\(name).\(CurrentProcess.threadID).new"
        try directory.remove(temporary)
        let fd = try directory.open(temporary, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, mode: mode)
        do {
            try fd.setMode(mode)
            guard try fd.lock(.exclusive) else { throw SystemError("flock", path: directory.path(of: temporary), errno: .wouldBlock) }
            return (fd, temporary)
        } catch {
            fd.close()
            try? directory.remove(temporary)
            throw error
        }
    }

    /// The directory `path` is in, opened as its path leads (for the calls
    /// that make a new pidfile there through one descriptor).
    static func directory(of path: String) throws -> Directory {
        do {
            return try Directory.open(Path.directory(of: path), followingSymlink: true)
        } catch let error as SystemError {
            throw SystemError("open", path: path, errno: error.errno)
        }
    }

    /// Creates `path` already locked: a locked temporary file renamed into
    /// place without replacing anything. Nil when a file appeared at `path`
    /// meanwhile. Where the file system cannot rename that way, the file is
    /// created in place and locked right after.
    static func createLocked(at path: String, mode: mode_t) throws -> FileDescriptor? {
        let directory = try PIDFile.directory(of: path)
        defer { directory.close() }
        let name = Path.fileName(of: path)
        let fd: FileDescriptor, temporary: String
        do {
            (fd, temporary) = try lockedTemporary(for: name, in: directory, mode: mode)
        } catch let error as SystemError {
            // The temporary name is ours: the error is about the path asked for ("open /run/x/app.pid").
            throw SystemError(error.operation, path: path, errno: error.errno)
        }
        do {
            try directory.rename(temporary, to: name, replacing: .never)
            return fd
        } catch let error as SystemError {
            fd.close()
            try? directory.remove(temporary)
            switch error.errno {
            case .exists: return nil
            case .invalid, .notImplemented, .notSupported:
                let created = try directory.open(name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, mode: mode)
                if (try? created.lock(.exclusive)) == true { return created }
                created.close()
                return nil
            default: throw error
            }
        }
    }

    /// True when `path` no longer names the locked file: it was removed or
    /// renamed away while locked (an administrator, a /tmp cleaner).
    package var isUnlinked: Bool {
        guard let file else { return false }
        guard let st = try? FileSystem.linkStatus(path) else { return true }
        return FileLocks.FileID(st) != file
    }

    /// Puts a removed pidfile back: a new file, locked before it appears at
    /// `path`, holding `pid`, replaces the one this object held. Returns
    /// false when `path` still names the locked file (or it was released).
    /// Every step goes through one descriptor of the pidfile's directory:
    /// `directory` when given (one the caller opened and checked), else the
    /// directory `path` leads to now.
    ///
    /// - Throws: `PIDFile.Locked` when another process locked a new file at
    ///   `path` meanwhile (this object then keeps its old, unlinked lock), or a
    ///   `SystemError`.
    @discardableResult
    package func restore(pid: pid_t?, in directory: Directory? = nil) throws -> Bool {
        guard isUnlinked else { return false }
        let opened = directory == nil ? try PIDFile.directory(of: path) : nil
        defer { opened?.close() }
        guard let directory = directory ?? opened else { return false }
        let name = Path.fileName(of: path)
        let (fd, temporary) = try PIDFile.lockedTemporary(for: name, in: directory, mode: mode)
        do {
            let st = try fd.status()
            try PIDFile.write(pid: pid, through: fd, path: directory.path(of: temporary))
            // Never replaces a file someone created at `path` meanwhile,
            // unless nobody locks it.
            do {
                try directory.rename(temporary, to: name, replacing: .never)
            } catch let error as SystemError where error.errno == .exists {
                if let other = try Snapshot.read(directory.path(of: name)), other.locked {
                    throw Locked(path: path, pid: PIDFile.parsePID(other.content), holder: nil)
                }
                try directory.rename(temporary, to: name)
            }
            try fd.setNonBlocking(false)
            replace(with: Held(descriptor: fd, file: FileLocks.FileID(st)))
            return true
        } catch {
            fd.close()
            try? directory.remove(temporary)
            throw error
        }
    }
}
