/// A locked pidfile: the single-instance guard.
///
/// The file holds the pid as decimal digits and a newline and carries an
/// exclusive `flock` for as long as this object (or a process that inherited
/// its descriptor) lives. A file that exists but is not locked is stale.
///
/// `flock` needs only read access, so a lock proves something only on a file
/// others cannot open: new files are created 0600 and an existing file is
/// set to the requested mode once locked. The locked descriptor is read-only:
/// a process it is handed to across `exec` holds the lock but cannot rewrite
/// the file through it. The content is written through a write-only
/// descriptor opened for each write (through `/proc/self/fd`, so on the very
/// file locked), which needs write permission on the file at that moment.
public final class PIDFile {
    /// Where the file is.
    public let path: String
    /// The open, locked descriptor: read-only, close-on-exec.
    public private(set) var descriptor: FileDescriptor
    /// The locked file's identity.
    public private(set) var file: FileLocks.FileID
    private let mode: mode_t
    private var isReleased = false

    private init(path: String, descriptor: FileDescriptor, file: FileLocks.FileID, mode: mode_t) {
        self.path = path
        self.descriptor = descriptor
        self.file = file
        self.mode = mode
    }

    deinit { release() }

    /// The descriptors to keep, for a process that closes every other one.
    var descriptors: [FileDescriptor] { [descriptor] }

    /// Another process holds the lock.
    public struct Locked: Error, Hashable, Sendable, CustomStringConvertible {
        /// The pidfile.
        public var path: String
        /// The pid written in the file, when the holder has written one.
        public var pid: pid_t?
        /// The process that took the lock, from the kernel's lock table.
        public var holder: pid_t?

        public var description: String {
            if let pid { return "\(path) is locked by pid \(pid)" }
            if let holder { return "\(path) is locked by pid \(holder)" }
            return "\(path) is locked by another process"
        }
    }

    /// Opens `path` (creating it with `mode`), takes its exclusive lock
    /// without waiting, checks that `path` still names the locked file, sets
    /// its mode, then truncates it and writes `pid` (or leaves it empty when
    /// `pid` is nil).
    ///
    /// - Parameters:
    ///   - path: The pidfile. A symlink, a directory, a FIFO or a file owned
    ///     by another user is refused.
    ///   - pid: What to write; the calling process by default.
    ///   - mode: The file's permissions, set on a new file and on an existing
    ///     one once it is locked. Keep the default 0600: any user who can open
    ///     the file can also lock it, and its lock would then prove nothing.
    ///   - waitForPID: When the lock is held, how long to wait for its holder
    ///     to write a pid before reporting it without one (nanoseconds).
    /// - Returns: The held lock; release it with `release()` or by dropping it.
    /// - Throws: `PIDFile.Locked` when another process holds the lock, or a
    ///   `SystemError` naming the step.
    public static func acquire(at path: String, pid: pid_t? = CurrentProcess.id, mode: mode_t = 0o600, waitForPID: Int64 = 500_000_000) throws -> PIDFile {
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
            case .heldByAnother:
                fd.close()
                // Wait briefly for the holder's pid; a holder that lets go
                // meanwhile (one that only held it for a moment) is no reason
                // to give up: try again.
                guard let locked = holderReport(path: path, waitForPID: waitForPID) else { continue }
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

    /// Wraps the locked `fd` and writes `pid` (releasing it on failure).
    private static func finish(_ fd: FileDescriptor, path: String, pid: pid_t?, mode: mode_t) throws -> PIDFile {
        do {
            let lock = PIDFile(path: path, descriptor: fd, file: FileLocks.FileID(try fd.status()), mode: mode)
            do {
                try fd.setNonBlocking(false)
                try lock.write(pid: pid)
            } catch {
                lock.release()
                throw error
            }
            return lock
        } catch let error as SystemError {
            fd.close()
            throw error.at(path)
        }
    }

    /// A new file, locked, under a temporary name beside `path` (named after
    /// the calling thread: one left there by a dead writer is removed first).
    private static func lockedTemporary(for path: String, mode: mode_t) throws -> (FileDescriptor, String) {
        let temporary = "\(Path.directory(of: path))/.\(Path.fileName(of: path)).\(CurrentProcess.threadID).new"
        try FileSystem.remove(temporary)
        let fd = try FileDescriptor.open(temporary, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, mode: mode)
        do {
            try fd.setMode(mode)
            guard try fd.lock(.exclusive) else { throw SystemError("flock", path: temporary, errno: .wouldBlock) }
            return (fd, temporary)
        } catch {
            fd.close()
            try? FileSystem.remove(temporary)
            throw error
        }
    }

    /// Creates `path` already locked: a locked temporary file renamed into
    /// place without replacing anything. Nil when a file appeared at `path`
    /// meanwhile. Where the file system cannot rename that way, the file is
    /// created in place and locked right after.
    private static func createLocked(at path: String, mode: mode_t) throws -> FileDescriptor? {
        let (fd, temporary) = try lockedTemporary(for: path, mode: mode)
        do {
            try FileSystem.renameWithoutReplacing(temporary, to: path)
            return fd
        } catch let error as SystemError {
            fd.close()
            try? FileSystem.remove(temporary)
            switch error.errno {
            case .exists: return nil
            case .invalid, .notImplemented, .notSupported:
                let created = try FileDescriptor.open(path, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, mode: mode)
                if (try? created.lock(.exclusive)) == true { return created }
                created.close()
                return nil
            default: throw error
            }
        }
    }

    /// A write-only descriptor on the file `fd` has open (a new open file
    /// description, so it shares neither the lock nor the read-only mode).
    private static func reopenForWriting(_ fd: FileDescriptor, path: String) throws -> FileDescriptor {
        do {
            return try FileDescriptor.open("/proc/self/fd/\(fd.rawValue)", O_WRONLY | O_NOCTTY)
        } catch let error as SystemError {
            throw SystemError("open", path: path, errno: error.errno)
        }
    }

    /// Replaces the file's content with `pid` and a newline, or empties it when
    /// `pid` is nil (a supervisor between two runs of its service).
    public func write(pid: pid_t?) throws {
        try PIDFile.write(pid: pid, through: descriptor, path: path)
    }

    private static func write(pid: pid_t?, through locked: FileDescriptor, path: String) throws {
        let writer = try reopenForWriting(locked, path: path)
        defer { writer.close() }
        do {
            try writer.truncate(to: 0)
            if let pid { try writer.write(Array("\(pid)\n".utf8), at: 0) }
        } catch let error as SystemError {
            throw error.at(path)
        }
    }

    /// True when `path` no longer names the locked file: it was removed or
    /// renamed away while locked (an administrator, a /tmp cleaner).
    public var isUnlinked: Bool {
        guard let st = try? FileSystem.linkStatus(path) else { return true }
        return FileLocks.FileID(st) != file
    }

    /// Puts a removed pidfile back: a new file, locked before it appears at
    /// `path`, holding `pid`, replaces the one this object held. Returns
    /// false when `path` still names the locked file.
    ///
    /// - Throws: `PIDFile.Locked` when another process locked a new file at
    ///   `path` meanwhile (this object then keeps its old, unlinked lock), or a
    ///   `SystemError`.
    @discardableResult
    public func restore(pid: pid_t?) throws -> Bool {
        guard !isReleased, isUnlinked else { return false }
        let (fd, temporary) = try PIDFile.lockedTemporary(for: path, mode: mode)
        do {
            let st = try fd.status()
            try PIDFile.write(pid: pid, through: fd, path: temporary)
            // Never replaces a file someone created at `path` meanwhile,
            // unless nobody locks it.
            do {
                try FileSystem.renameWithoutReplacing(temporary, to: path)
            } catch let error as SystemError where error.errno == .exists {
                if let other = try Snapshot.read(path), other.locked { throw Locked(path: path, pid: PIDFile.parsePID(other.content), holder: nil) }
                try FileSystem.rename(temporary, to: path)
            }
            try fd.setNonBlocking(false)
            descriptor.close()
            descriptor = fd
            file = FileLocks.FileID(st)
            return true
        } catch {
            fd.close()
            try? FileSystem.remove(temporary)
            throw error
        }
    }

    /// Removes the file if `path` still names the locked inode, then closes the
    /// descriptor, which releases the lock (unless another process shares it).
    public func release() {
        guard !isReleased else { return }
        isReleased = true
        if let st = try? FileSystem.linkStatus(path), FileLocks.FileID(st) == file {
            try? FileSystem.remove(path)
        }
        descriptor.close()
    }

    /// Closes the descriptor without removing the file: for a process that
    /// hands the lock to another (which keeps its own copy of the descriptor).
    public func relinquish() {
        guard !isReleased else { return }
        isReleased = true
        descriptor.close()
    }

    /// Parses pidfile content strictly: decimal digits (no sign, no leading
    /// zero), optionally one newline, a positive value that fits `pid_t`.
    /// Anything else (empty, binary, negative, huge) is nil.
    public static func parsePID<Bytes: Collection>(_ bytes: Bytes) -> pid_t? where Bytes.Element == UInt8 {
        var digits = Array(bytes.prefix(12))
        if bytes.count > 12 { return nil }
        if digits.last == UInt8(ascii: "\n") { digits.removeLast() }
        guard !digits.isEmpty, digits.count <= 10, digits[0] != UInt8(ascii: "0"),
              digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        var value: Int64 = 0
        for d in digits { value = value * 10 + Int64(d - UInt8(ascii: "0")) }
        guard value > 0, value <= Int64(Int32.max) else { return nil }
        return pid_t(value)
    }

    private static func checkOwnership(_ st: stat, path: String) throws {
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw SystemError("open", path: path, errno: .isDirectory)
        default: throw InvalidFile(.pidFile, path, .wrongType, message: "open \(path): not a regular file")
        }
        if st.st_uid != CurrentProcess.effectiveUserID { throw PIDFile.foreignOwner(path, st.st_uid) }
    }

    enum LockAttempt: Equatable {
        case taken
        case heldByAnother
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
            if case .process = FileLocks.flockHolder(of: file) { return .heldByAnother }
            // Only probes: they let go within microseconds.
            if Monotonic.now() >= deadline { return .failed(.wouldBlock) }
            Monotonic.sleep(nanoseconds: pause)
            pause = min(pause * 2, 2_000_000)
        }
    }

    /// The holder of a lock we could not take: the pid it wrote, waited for
    /// briefly while it has not written one yet. Nil when the lock was
    /// released (or the file removed) in the meantime.
    private static func holderReport(path: String, waitForPID: Int64) -> Locked? {
        let deadline = Monotonic.now() + waitForPID
        var pause: Int64 = 200_000
        while true {
            guard let snapshot = try? Snapshot.read(path), snapshot.locked else { return nil }
            let pid = parsePID(snapshot.content)
            if pid != nil || Monotonic.now() >= deadline { return Locked(path: path, pid: pid, holder: nil) }
            Monotonic.sleep(nanoseconds: pause)
            pause = min(pause * 2, 10_000_000)
        }
    }
}

extension PIDFile {
    /// A pidfile owned by another user: never truncated, never trusted.
    static func foreignOwner(_ path: String, _ uid: uid_t) -> InvalidFile {
        InvalidFile(.pidFile, path, .foreignOwner(uid), message: "open \(path): owned by uid \(uid), not by this user (refused)")
    }
}
