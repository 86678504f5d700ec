public import Glibc
internal import Synchronization

/// A locked pidfile: the single-instance guard, with pidfile(3)'s rules.
///
/// The file holds the pid as decimal digits and a newline and carries an
/// exclusive `flock` for as long as its descriptor is open in some process.
/// A file that exists but is not locked is stale.
///
/// Across `fork` and `exec`: a child forked after `acquire` shares the lock
/// (the same open file description). `release()`, and dropping the object,
/// close this process's descriptor and remove the file only when no other
/// process still holds the lock: a parent that lets go after forking never
/// removes the file its child still holds, so no second instance can start.
/// A program handed the descriptor across `exec` takes it over with
/// `adopt(descriptor:at:)` or `inherited()` (see `keepAcrossExec()`).
///
/// `flock` needs only read access, so a lock proves something only on a file
/// others cannot open: new files are created 0600 and an existing file is
/// set to the requested mode before it is locked. The locked descriptor is
/// read-only, so a program it is handed to cannot rewrite the file through
/// it; the content is written through a descriptor opened for each write.
///
/// `Sendable`: the descriptor is kept behind a mutex, so one `PIDFile` can
/// live in a global, in a `Sendable` service, or be handed to a task, and
/// `release()` from any of them is safe (the first one releases; the others
/// do nothing). A class rather than a noncopyable value because a lock that
/// several owners share is what a daemon needs, and `release()` is
/// idempotent.
public final class PIDFile: Sendable {
    /// Where the file is.
    public let path: String
    let mode: mode_t
    private let state: Mutex<Held?>

    /// The lock as this process holds it.
    struct Held {
        /// The open, locked, read-only descriptor.
        var descriptor: FileDescriptor
        /// The locked file's identity.
        var file: FileLocks.FileID
    }

    private init(path: String, descriptor: FileDescriptor, file: FileLocks.FileID, mode: mode_t) {
        self.path = path
        self.mode = mode
        state = Mutex(Held(descriptor: descriptor, file: file))
    }

    deinit { release() }

    /// The locked descriptor's number (close-on-exec unless `keepAcrossExec()`
    /// was called); nil once released.
    public var descriptor: CInt? { state.withLock { $0?.descriptor.rawValue } }

    /// The descriptors to keep, for a process that closes every other one.
    package var descriptors: [FileDescriptor] { state.withLock { $0.map { [$0.descriptor] } ?? [] } }

    /// The locked file's identity; nil once released.
    package var file: FileLocks.FileID? { state.withLock { $0?.file } }

    /// Another process holds the lock.
    public struct Locked: Error, Hashable, Sendable, CustomStringConvertible {
        /// The pidfile.
        public var path: String
        /// The pid written in the file, when the holder has written one.
        public var pid: pid_t?
        /// A process that holds the lock now: the one that took it (the
        /// kernel's lock table, `/proc/locks`, names it) when it still holds it
        /// through one of its descriptors, else one that does (the taker may
        /// have handed the lock to a child and exited). Nil when none can be
        /// seen: taken outside this pid namespace, held by processes of
        /// another user this one may not inspect, or `/proc` not mounted.
        public var holder: pid_t?

        /// A lock held by `holder` on `path`, which names `pid`.
        public init(path: String, pid: pid_t?, holder: pid_t?) {
            self.path = path
            self.pid = pid
            self.holder = holder
        }

        /// "/run/app.pid is locked by pid 42".
        public var description: String {
            if let pid = pid ?? holder { return "\(path) is locked by pid \(pid)" }
            return "\(path) is locked by another process"
        }
    }

    /// Opens `path` (creating it, already locked, when missing), takes its
    /// exclusive lock without waiting, checks that `path` still names the
    /// locked file, then truncates it and writes `pid`. The C functions are
    /// `open`, `flock` and `renameat2`; FreeBSD's equivalent is `pidfile_open`
    /// followed by `pidfile_write`.
    ///
    /// - Parameters:
    ///   - path: The pidfile. A symlink, a directory, a FIFO or a file owned
    ///     by another user is refused.
    ///   - pid: What to write: the calling process by default; nil leaves
    ///     the file empty (write it later with `write(pid:)`).
    ///   - mode: The file's permissions, set on a new file and on an existing
    ///     one before it is locked. Keep the default 0600: any user who can
    ///     open the file can also lock it, and its lock would then prove nothing.
    ///   - waitForPID: When the lock is held, how long to wait for its holder
    ///     to write a pid before reporting it without one.
    /// - Returns: The held lock; release it with `release()` or by dropping it.
    /// - Throws: `PIDFile.Locked` when another process holds the lock, or a
    ///   `SystemError` naming the step and the path.
    public static func acquire(at path: String, pid: pid_t? = getpid(), mode: mode_t = 0o600,
                               waitForPID: Duration = .milliseconds(500)) throws -> PIDFile {
        let wait = Interval(waitForPID).nanoseconds
        for _ in 0..<64 {
            let fd: FileDescriptor
            do {
                fd = try FileDescriptor.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
            } catch let error as SystemError where error.errno == .noSuchFile {
                // A new file appears at `path` already locked: a probe never
                // sees it unlocked and empty between its creation and its lock.
                guard let created = try createLocked(at: path, mode: mode) else { continue }
                return try finish(created, path: path, pid: pid, mode: mode)
            }
            let st: stat
            do {
                st = try fd.status()
                try checkOwnership(st, path: path)
                // Before locking: from now on nobody else can open it.
                if st.st_mode & 0o7777 != mode { try fd.setMode(mode) }
            } catch let error as SystemError {
                fd.close()
                throw error.at(path)
            } catch {
                fd.close()
                throw error
            }
            switch takeExclusiveLock(fd, file: FileLocks.FileID(st)) {
            case .taken:
                break
            case .heldByAnother(let holder):
                fd.close()
                // Wait briefly for the holder's pid; a holder that lets go
                // meanwhile (one that only held it for a moment) is no reason
                // to give up: try again.
                guard let locked = holderReport(path: path, holder: holder, waitForPID: wait) else { continue }
                throw locked
            case .failed(let errno):
                fd.close()
                // Shared locks that outlast any probe, on a file others could open: theirs.
                if errno == .wouldBlock && st.st_mode & 0o044 != 0 {
                    throw InvalidFile(.pidFile, path, .lockedByOthers, message: "\(path) is locked by processes of other users, which its old mode let open it: remove it")
                }
                throw SystemError("flock", path: path, errno: errno)
            }
            // The previous holder may have removed or replaced the file between
            // our open and our lock: then we locked an orphan inode. Try again.
            guard let now = try? FileSystem.linkStatus(path), FileLocks.FileID(now) == FileLocks.FileID(st) else {
                fd.close()
                continue
            }
            return try finish(fd, path: path, pid: pid, mode: mode)
        }
        throw SystemError("flock", path: path, errno: .wouldBlock)
    }

    /// Wraps the locked `fd` and writes `pid` unless told not to (releasing it on failure).
    static func finish(_ fd: FileDescriptor, path: String, pid: pid_t?, mode: mode_t, writing: Bool = true) throws -> PIDFile {
        let lock: PIDFile
        do {
            lock = PIDFile(path: path, descriptor: fd, file: FileLocks.FileID(try fd.status()), mode: mode)
        } catch let error as SystemError {
            fd.close()
            throw error.at(path)
        }
        do {
            try fd.setNonBlocking(false)
            if writing { try lock.write(pid: pid) }
        } catch let error as SystemError {
            lock.release()
            throw error.at(path)
        }
        return lock
    }

    /// Replaces the file's content with `pid` and a newline, or empties it
    /// when `pid` is nil (a supervisor between two runs of its service).
    /// FreeBSD's equivalent is `pidfile_write`.
    ///
    /// - Throws: a `SystemError` (`EBADF` once released).
    public func write(pid: pid_t?) throws {
        try state.withLock { held in
            guard let held else { throw SystemError("write", path: path, errno: .badDescriptor) }
            try PIDFile.write(pid: pid, through: held.descriptor, path: path)
        }
    }

    /// Writes through a write-only descriptor on the file `locked` has open
    /// (reopened through `/proc/self/fd`: the very file locked, a new open
    /// file description that shares neither the lock nor the read-only mode).
    static func write(pid: pid_t?, through locked: FileDescriptor, path: String) throws {
        let writer: FileDescriptor
        do {
            writer = try FileDescriptor.open("/proc/self/fd/\(locked.rawValue)", O_WRONLY | O_NOCTTY)
        } catch let error as SystemError {
            throw SystemError("open", path: path, errno: error.errno)
        }
        defer { writer.close() }
        do {
            try writer.truncate(to: 0)
            if let pid { try writer.write(Array("\(pid)\n".utf8), at: 0) }
        } catch let error as SystemError {
            throw error.at(path)
        }
    }

    /// Lets go of the lock: closes this process's descriptor and, when no
    /// other process still holds the lock (a child forked after `acquire`, a
    /// program it was handed to) and `path` still names the locked file,
    /// removes the file. Later calls do nothing. FreeBSD's equivalent is
    /// `pidfile_remove`, which differs in removing the file however many
    /// processes share the lock.
    public func release() {
        guard let held = take() else { return }
        PIDFile.removeIfLastHolder(held, path: path)
    }

    /// Closes this process's descriptor and leaves the file alone: for a
    /// process that handed the lock to another (which keeps its own copy of
    /// the descriptor). FreeBSD's equivalent is `pidfile_close`.
    public func close() {
        take()?.descriptor.close()
    }

    /// The held lock, which the caller now owns; nil once released.
    @discardableResult
    private func take() -> Held? {
        state.withLock { held in
            defer { held = nil }
            return held
        }
    }

    /// Replaces the held descriptor (see `restore`).
    func replace(with new: Held) {
        state.withLock { held in
            held?.descriptor.close()
            held = new
        }
    }

    /// Closes `held` and removes the file when nobody holds the lock any more:
    /// a new descriptor on `path` that can take the exclusive lock proves that
    /// no other process shares it. (Probes hold a shared lock for a moment;
    /// `takeExclusiveLock` tells them from holders.)
    /// Every step goes through one descriptor of the file's directory: the
    /// name checked is the name removed, in the same directory.
    private static func removeIfLastHolder(_ held: Held, path: String) {
        guard let directory = try? PIDFile.directory(of: path) else {
            held.descriptor.close()
            return
        }
        defer { directory.close() }
        let name = Path.fileName(of: path)
        guard let probe = try? directory.open(name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY) else {
            held.descriptor.close()
            return
        }
        defer { probe.close() }
        guard let st = try? probe.status(), FileLocks.FileID(st) == held.file else {
            held.descriptor.close()
            return
        }
        held.descriptor.close()
        // From here until the removal the file is there, unlocked (and empty,
        // for a supervisor's or a command's): a status that reads it then
        // must not call that a dead service (`ServiceStatus`).
        CrashPoint.reach("release-unlocked")
        guard takeExclusiveLock(probe, file: held.file) == .taken else { return }
        if let now = try? directory.linkStatus(name), FileLocks.FileID(now) == held.file {
            try? directory.remove(name)
        }
    }

    /// Parses pidfile content strictly: decimal digits (no sign, no leading
    /// zero), optionally one newline, a positive value that fits `pid_t`.
    /// Anything else (empty, binary, negative, huge) is nil.
    package static func parsePID<Bytes: Collection>(_ bytes: Bytes) -> pid_t? where Bytes.Element == UInt8 {
        // One pass, no copy: every status reads two or three of these.
        var value: Int64 = 0
        var digits = 0
        var ended = false
        for byte in bytes {
            guard !ended else { return nil }  // anything after the newline
            if byte == UInt8(ascii: "\n") { ended = true; continue }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 10,
                  digits > 0 || byte != UInt8(ascii: "0") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            digits += 1
        }
        guard digits > 0, value <= Int64(Int32.max) else { return nil }
        return pid_t(value)
    }

    static func checkOwnership(_ st: stat, path: String) throws {
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw SystemError("open", path: path, errno: .isDirectory)
        default: throw InvalidFile(.pidFile, path, .wrongType, message: "open \(path): not a regular file")
        }
        if st.st_uid != CurrentProcess.effectiveUserID { throw PIDFile.foreignOwner(path, st.st_uid) }
    }

    /// A pidfile owned by another user: never truncated, never trusted.
    static func foreignOwner(_ path: String, _ uid: uid_t) -> InvalidFile {
        InvalidFile(.pidFile, path, .foreignOwner(uid), message: "open \(path): owned by uid \(uid), not by this user (refused)")
    }
}
