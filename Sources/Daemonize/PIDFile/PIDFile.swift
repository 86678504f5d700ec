/// A locked pidfile: the single-instance guard.
///
/// The file holds the pid as decimal digits and a newline and carries an
/// exclusive `flock` for as long as this object (or a process that inherited
/// its descriptor) lives. A file that exists but is not locked is stale.
public final class PIDFile {
    /// Where the file is.
    public let path: String
    /// The open, locked descriptor (close-on-exec).
    public let descriptor: FileDescriptor
    /// The locked file's identity.
    public let file: FileLocks.FileID
    private var isReleased = false

    private init(path: String, descriptor: FileDescriptor, file: FileLocks.FileID) {
        self.path = path
        self.descriptor = descriptor
        self.file = file
    }

    deinit { release() }

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
    /// without waiting, checks that `path` still names the locked file, then
    /// truncates it and writes `pid` (or leaves it empty when `pid` is nil).
    ///
    /// - Parameters:
    ///   - path: The pidfile. A symlink, a directory, a FIFO or a file owned
    ///     by another user is refused.
    ///   - pid: What to write; the calling process by default.
    ///   - mode: Permissions for a new file.
    ///   - waitForPID: When the lock is held, how long to wait for its holder
    ///     to write a pid before reporting it without one (nanoseconds).
    /// - Returns: The held lock; release it with `release()` or by dropping it.
    /// - Throws: `PIDFile.Locked` when another process holds the lock, or a
    ///   `SystemError` naming the step.
    public static func acquire(at path: String, pid: pid_t? = getpid(), mode: mode_t = 0o644, waitForPID: Int64 = 500_000_000) throws -> PIDFile {
        for _ in 0..<64 {
            let fd = try FileDescriptor.open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, mode: mode)
            let st: stat
            do {
                st = try fd.status()
                try checkOwnership(st, path: path)
            } catch let error as SystemError {
                fd.close()
                throw error.at(path)
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
                throw SystemError("flock", path: path, errno: errno)
            }
            // The previous holder may have removed or replaced the file between
            // our open and our lock: then we locked an orphan inode. Try again.
            guard let now = try? FileSystem.linkStatus(path), FileLocks.FileID(now) == FileLocks.FileID(st) else {
                fd.close()
                continue
            }
            let lock = PIDFile(path: path, descriptor: fd, file: FileLocks.FileID(st))
            do {
                try fd.setNonBlocking(false)
                try lock.write(pid: pid)
            } catch let error as SystemError {
                lock.release()
                throw error.at(path)
            }
            return lock
        }
        throw SystemError("flock", path: path, errno: .wouldBlock)
    }

    /// Replaces the file's content with `pid` and a newline, or empties it when
    /// `pid` is nil (a supervisor between two runs of its service).
    public func write(pid: pid_t?) throws {
        do {
            try descriptor.truncate(to: 0)
            if let pid {
                let text = Array("\(pid)\n".utf8)
                let n = text.withUnsafeBytes { buffer in
                    retryingOnInterrupt { pwrite(descriptor.rawValue, buffer.baseAddress, buffer.count, 0) }
                }
                if n != text.count { throw SystemError("write", path: path) }
            }
        } catch let error as SystemError {
            throw error.at(path)
        }
    }

    /// Removes the file if `path` still names the locked inode, then closes the
    /// descriptor, which releases the lock (unless another process shares it).
    public func release() {
        guard !isReleased else { return }
        isReleased = true
        if let st = try? FileSystem.linkStatus(path), FileLocks.FileID(st) == file {
            _ = unlink(path)
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
        default: throw PIDFileError.notRegular(path: path)
        }
        if st.st_uid != geteuid() { throw PIDFileError.foreignOwner(path: path, uid: st.st_uid) }
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
            if retryingOnInterrupt({ flock(fd.rawValue, LOCK_EX | LOCK_NB) }) == 0 { return .taken }
            guard errno == EWOULDBLOCK else { return .failed(Errno.current) }
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

/// A pidfile that is not what a pidfile must be.
public enum PIDFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A FIFO, socket or device where a regular file belongs.
    case notRegular(path: String)
    /// A file owned by another user: never truncated, never trusted.
    case foreignOwner(path: String, uid: uid_t)

    public var description: String {
        switch self {
        case .notRegular(let path): return "open \(path): not a regular file"
        case .foreignOwner(let path, let uid): return "open \(path): owned by uid \(uid), not by this user (refused)"
        }
    }
}
