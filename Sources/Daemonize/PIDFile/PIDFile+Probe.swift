public import Glibc

extension PIDFile {
    /// What a pidfile says, learned without taking its lock.
    public enum Status: Hashable, Sendable, CustomStringConvertible {
        /// No file.
        case absent
        /// A file nobody locks: its pid (if any parses) must not be trusted.
        case stale(pid: pid_t?)
        /// Locked: `pid` is what the file holds (nil while its holder has not
        /// written one). Which process holds the lock is not looked up (see
        /// `lockHolder(at:)`).
        case running(pid: pid_t?)
        /// The file cannot be read or is not a regular file; `errno` says
        /// why when a system call failed (`EACCES`: another user's file).
        case unreadable(reason: String, errno: Errno?)

        /// "absent", "stale (pid 12)", "running (pid 12)", "unreadable: ...".
        public var description: String {
            switch self {
            case .absent: return "absent"
            case .stale(let pid): return "stale" + (pid.map { " (pid \($0))" } ?? "")
            case .running(let pid): return "running (pid \(pid.map(String.init) ?? "?"))"
            case .unreadable(let reason, _): return "unreadable: \(reason)"
            }
        }
    }

    /// Probes `path`: absent, stale, running or unreadable, whoever owns it
    /// (root checking a daemon that runs as its own user reads its file);
    /// `acquire` and `signal` trust only files of the caller or root. Asks for a
    /// shared lock without waiting, which only an exclusive holder refuses,
    /// and drops it at once; `acquire` tells such a probe from a holder and
    /// tries again, so a concurrent `acquire` never fails because of a probe.
    /// (The kernel's lock table, `/proc/locks`, would also tell, but reading
    /// it waits for an RCU grace period: milliseconds after a quiet spell.)
    /// The C function is `flock` (`LOCK_SH | LOCK_NB`).
    public static func status(at path: String) -> Status {
        do {
            guard let snapshot = try Snapshot.read(path, anyOwner: true) else { return .absent }
            let pid = parsePID(snapshot.content)
            return snapshot.locked ? .running(pid: pid) : .stale(pid: pid)
        } catch {
            return .unreadable(reason: "\(error)", errno: (error as? SystemError)?.errno)
        }
    }

    /// Like `status(at:)`, but a locked file whose holder has not written a
    /// pid yet is waited for, up to `wait` nanoseconds.
    package static func status(at path: String, waitingForPID wait: Int64) -> Status {
        let deadline = Monotonic.now() + wait
        var pause: Int64 = 500_000
        while true {
            let status = status(at: path)
            guard case .running(nil) = status, Monotonic.now() < deadline else { return status }
            Monotonic.sleep(nanoseconds: pause)
            pause = min(pause * 2, 10_000_000)
        }
    }

    /// A process holding the exclusive lock on `path` now: the one that took
    /// it, from the kernel's lock table, when it still holds it through one of
    /// its descriptors, else one that does (the taker may have handed the
    /// lock to a child and exited). Slow after a quiet spell (see
    /// `status(at:)`): for diagnostics and the cases where no record names
    /// the holder. Nil when the file is not locked, or no holder can be seen
    /// (outside this pid namespace, or another user's processes this one
    /// may not inspect).
    public static func lockHolder(at path: String) -> pid_t? {
        guard let st = try? FileSystem.linkStatus(path) else { return nil }
        let file = FileLocks.FileID(st)
        guard case .process(let taker) = FileLocks.flockHolder(of: file) else { return nil }
        return liveHolder(taker, of: file)
    }

    /// Which process of a locked pidfile to open.
    package enum Target: Sendable {
        /// The pid written in the file (the service).
        case recorded
        /// The process holding the lock: `expected`, checked through that
        /// process's own descriptors. Nobody else: a process that holds the
        /// lock for a moment (a command cleaning up) is never taken for it.
        case holder(expected: pid_t)
    }

    /// Opens a pidfd for the process a locked pidfile names, checking the lock
    /// before and after the pidfd is taken: a pid is never opened unless its
    /// pidfile was locked, unchanged, the whole time. Nil when the file is
    /// absent, stale or empty, or when the expected holder does not hold it.
    ///
    /// - Throws: `InvalidFile` (`refusedPID`) when the file names pid 1 or
    ///   the calling process: never a service's pid, never signalled.
    package static func openProcess(at path: String, _ target: Target = .recorded) throws -> ProcessHandle? {
        for _ in 0..<16 {
            guard let before = try Snapshot.read(path), before.locked else { return nil }
            let pid: pid_t?
            switch target {
            case .recorded:
                pid = parsePID(before.content)
            case .holder(let expected):
                pid = FileLocks.holdsExclusiveLock(pid: expected, on: before.file) ? expected : nil
            }
            guard let pid else { return nil }
            if pid <= 1 || pid == CurrentProcess.id {
                throw InvalidFile(.pidFile, path, .refusedPID(pid), message: "\(path) names pid \(pid), which is never a service's (refused)")
            }
            let handle: ProcessHandle
            do {
                handle = try ProcessHandle.open(pid: pid)
            } catch let error as SystemError where error.errno == .noSuchProcess {
                continue
            }
            // The pidfd now pins one process. If the file is still the same,
            // still locked, and (for the holder) that process still holds it,
            // the pidfd names the process the file named.
            var confirmed = false
            if let after = try Snapshot.read(path), after == before {
                switch target {
                case .recorded: confirmed = true
                case .holder: confirmed = FileLocks.holdsExclusiveLock(pid: pid, on: after.file)
                }
            }
            if confirmed { return handle }
            handle.close()
        }
        return nil
    }

    /// Sends `signal` to the process a locked pidfile names: `nginx -s
    /// reload` for any program. The pid is opened as a pidfd while the file
    /// is locked and unchanged, so a stale file or a reused pid is never
    /// signalled. Returns false, sending nothing, when the file is not
    /// locked or names no pid. The C functions are `pidfd_open` and
    /// `pidfd_send_signal`.
    ///
    /// - Throws: `InvalidFile` (`refusedPID`) for a file naming pid 1 or the
    ///   caller, or a `SystemError`.
    @discardableResult
    public static func signal(at path: String, _ signal: ProcessSignal) throws -> Bool {
        try self.signal(at: path, signal, .recorded)
    }

    /// Sends `signal` to the process of a locked pidfile that `target` names.
    @discardableResult
    package static func signal(at path: String, _ signal: ProcessSignal, _ target: Target) throws -> Bool {
        guard let handle = try openProcess(at: path, target) else { return false }
        defer { handle.close() }
        try handle.send(signal)
        return true
    }

    /// A pidfile's identity, content and lock at one moment.
    struct Snapshot: Equatable {
        var file: FileLocks.FileID
        var content: [UInt8]
        /// An exclusive lock is held on it.
        var locked: Bool
        /// Its permission bits: a file others can open is a lock others can take.
        var mode: mode_t

        /// Other users can open the file, so its lock may be theirs.
        var othersCanOpen: Bool { mode & 0o044 != 0 }

        /// Nil when `path` does not exist. A file found unlocked that `path`
        /// no longer names (its holder removed it and let go while it was
        /// read) is read again: a stopping supervisor's pidfile is never
        /// taken for a stale one.
        static func read(_ path: String, anyOwner: Bool = false) throws -> Snapshot? {
            for _ in 0..<8 {
                guard let snapshot = try readOnce(path, anyOwner: anyOwner) else { return nil }
                if snapshot.locked { return snapshot }
                // Still the file that was read: stale indeed. Removed or replaced: read again.
                if let now = (try? FileSystem.linkStatus(path)) ?? nil, FileLocks.FileID(now) == snapshot.file { return snapshot }
            }
            return try readOnce(path, anyOwner: anyOwner)
        }

        private static func readOnce(_ path: String, anyOwner: Bool) throws -> Snapshot? {
            let fd: FileDescriptor
            do {
                fd = try FileDescriptor.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
            } catch let error as SystemError where error.errno == .noSuchFile {
                return nil
            }
            defer { fd.close() }
            do {
                let st = try fd.status()
                if st.st_mode & S_IFMT != S_IFREG { throw InvalidFile(.pidFile, path, .wrongType, message: "open \(path): not a regular file") }
                // A pidfile someone else could have written is never trusted.
                if !anyOwner && st.st_uid != 0 && st.st_uid != CurrentProcess.effectiveUserID { throw PIDFile.foreignOwner(path, st.st_uid) }
                // A pid is at most 11 bytes; read a little more to see garbage as garbage.
                let content = try fd.read(upTo: 32, at: 0)
                // A shared lock only an exclusive holder refuses, let go at once.
                let locked = try !fd.lock(.shared)
                if !locked { _ = try? fd.lock(.unlock) }
                return Snapshot(file: FileLocks.FileID(st), content: content, locked: locked, mode: st.st_mode & 0o7777)
            } catch let error as SystemError {
                throw error.at(path)
            }
        }
    }
}
