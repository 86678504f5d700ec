internal import Glibc
internal import Synchronization

/// A process that has become a daemon: double-forked, in its own session
/// without a controlling terminal, its working directory and umask set, its
/// standard streams on `/dev/null` or a log, its pidfile locked.
///
/// The process that called `detach` waits until the daemon calls `ready()`
/// (and exits 0), `fail(_:)` (exits 1 with the message) or dies (exits 1 with
/// "daemon exited during startup (status N)").
///
/// Detach first: `fork` keeps only the calling thread, so `detach` refuses a
/// process with threads. Swift concurrency (the first `Task` or `await` that
/// leaves the main thread) and Dispatch start threads that never go away; in
/// an `async` `main`, make `detach` the first statement.
///
/// `Sendable`: `ready()` and `fail(_:)` may come from any task; the first
/// report wins and later ones do nothing.
public final class Daemon: Sendable {
    /// The daemon's locked pidfile, when one was asked for.
    public let pidFile: PIDFile?
    /// The descriptors the previous image of this daemon kept for it with
    /// `reexec(keeping:)`, in that order, open here at the same numbers (and
    /// close-on-exec again): after an upgrade, the listening socket the
    /// privileged action bound. Empty in a daemon that was not re-executed.
    public let keptDescriptors: [CInt]
    private let channel: Mutex<FileDescriptor?>

    init(pidFile: PIDFile?, channel: FileDescriptor?, kept: [CInt] = []) {
        self.pidFile = pidFile
        self.keptDescriptors = kept
        self.channel = Mutex(channel)
    }

    /// The two sides of `Daemon.fork`.
    package enum Side {
        /// This process is the daemon.
        case daemon(Daemon)
        /// This process is the original; the daemon reports through the startup.
        case original(Startup)
    }

    /// Becomes a daemon: returns in the daemon; the original process waits
    /// for the daemon's report and exits with it. In a program that
    /// `reexec`'d itself as a daemon, returns at once with the daemon it
    /// was (no fork; the pidfile lock and the report channel carried over).
    ///
    /// The C functions are `fork` (twice), `setsid`, `chdir`, `umask`,
    /// `dup2`, `flock` and `close_range`.
    ///
    /// - Throws: before any fork, when the process has threads
    ///   (`DaemonError`), the pidfile's directory is unusable (a
    ///   `SystemError` with its errno: "Permission denied" for a directory
    ///   the process may not search), the pidfile is locked (`PIDFile.Locked`)
    ///   or invalid, the user is unknown or a log cannot be opened.
    public static func detach(_ options: DaemonOptions = DaemonOptions()) throws -> Daemon {
        try detach(options, privileged: {}).daemon
    }

    /// Like `detach(_:)`, and runs `action` in the daemon once the pidfile
    /// is locked and every other descriptor closed, before it becomes
    /// `options.user`: bind port 80 as root, then serve as `www-data`. A
    /// failed action fails the start (the original exits 1 with the error).
    /// After a `reexec` the action is not run again (privileges are gone).
    ///
    /// - Returns: The daemon and the action's result (nil after a `reexec`).
    public static func detach<T>(_ options: DaemonOptions, privileged action: () throws -> T) throws -> (daemon: Daemon, privileged: T?) {
        if let resumed = try resume(options) { return (resumed, nil) }
        switch try fork(options) {
        case .daemon(let daemon):
            do {
                let result = try action()
                if let credentials = try options.credentials() { try CurrentProcess.dropPrivileges(to: credentials) }
                return (daemon, result)
            } catch {
                daemon.fail("\(error)")
                CurrentProcess.exit(1)
            }
        case .original(let startup):
            CurrentProcess.exit(startup.finish())
        }
    }

    /// Double-forks like `detach`, but returns in both processes: the original
    /// gets a `Startup` to wait on and decides itself what to print.
    package static func fork(_ options: DaemonOptions = DaemonOptions()) throws -> Side {
        let threads = ProcessTable.threadCount()
        if threads > 1 { throw DaemonError.multithreaded(threads: threads) }
        if let pidPath = options.pidFile { try checkPIDFile(pidPath) }
        _ = try options.credentials()
        let (output, error) = try options.openOutputs()
        let opened = [output, error].compactMap { $0 }

        CurrentProcess.flushStandardStreams()
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        // As a subreaper, the original adopts the daemon when the intermediate
        // child exits, and so learns its exit status if it dies during startup.
        CurrentProcess.becomeChildSubreaper()
        let first: pid_t
        do {
            first = try CurrentProcess.fork()
        } catch {
            readEnd.close(); writeEnd.close(); opened.forEach { $0.close() }
            throw error
        }
        if first == 0 {
            readEnd.close()
            do {
                try CurrentProcess.startSession()
                CrashPoint.reach("between-forks")
                let second = try CurrentProcess.fork()
                if second > 0 {
                    StatusChannel.write(.pid(second), to: writeEnd)
                    CurrentProcess.exitNow(0)
                }
            } catch {
                failEarly(writeEnd, "\(error)")
            }
            return .daemon(become(options, channel: writeEnd, output: output, error: error))
        }
        writeEnd.close()
        opened.forEach { $0.close() }
        // The daemon's signals are the daemon's: here they mean what they meant before.
        SignalTrap.releaseAll()
        return .original(Startup(channel: readEnd, timeout: options.readyTimeout.map { Interval($0) }, intermediate: first))
    }

    /// Refuses a pidfile that cannot be used, before anything forks: its
    /// directory missing or not writable (the real errno), the file locked
    /// or not a pidfile this user may trust.
    private static func checkPIDFile(_ path: String) throws {
        let directory = Path.directory(of: path)
        guard let st = try FileSystem.status(directory) else { throw SystemError("stat", path: directory, errno: .noSuchFile) }
        if st.st_mode & S_IFMT != S_IFDIR { throw SystemError("stat", path: directory, errno: .notDirectory) }
        if !FileSystem.isWritable(directory) { throw SystemError("access", path: directory) }
        if let snapshot = try PIDFile.Snapshot.read(path), snapshot.locked {
            throw PIDFile.Locked(path: path, pid: PIDFile.parsePID(snapshot.content), holder: PIDFile.lockHolder(at: path))
        }
    }

    static func failEarly(_ channel: FileDescriptor, _ message: String) -> Never {
        StatusChannel.write(.failed(code: 1, message: message), to: channel)
        CurrentProcess.exitNow(1)
    }

    /// The daemon side: directory, umask, streams, pidfile, descriptors.
    private static func become(_ options: DaemonOptions, channel: FileDescriptor, output: FileDescriptor?, error: FileDescriptor?) -> Daemon {
        do {
            try CurrentProcess.changeDirectory(to: options.workingDirectory)
            CurrentProcess.setFileModeMask(options.umask)
            let null = try FileDescriptor.open("/dev/null", O_RDWR)
            try null.duplicate(onto: 0)
            try (output ?? null).duplicate(onto: 1)
            try (error ?? null).duplicate(onto: 2)
            for fd in [null, output, error].compactMap({ $0 }) where fd.rawValue > 2 { fd.close() }
        } catch {
            failEarly(channel, "\(error)")
        }

        var pidFile: PIDFile?
        if let path = options.pidFile {
            do {
                pidFile = try PIDFile.acquire(at: path, mode: options.pidFileMode)
            } catch let locked as PIDFile.Locked {
                failEarly(channel, "already running (pid \(locked.pid ?? locked.holder ?? 0))")
            } catch {
                failEarly(channel, "\(error)")
            }
        }
        keepOnly(options.keepDescriptors.map(FileDescriptor.init(rawValue:)) + [channel] + (pidFile?.descriptors ?? []))
        if options.removePIDFileAtExit, let pidFile { Daemon.removeAtExit(pidFile) }
        return Daemon(pidFile: pidFile, channel: channel)
    }

    /// Tells the original process that startup succeeded: it prints `message`
    /// (if any) on standard output and exits with `exitCode`. Only the
    /// first report counts.
    public func ready(_ message: String? = nil, exitCode: Int32 = 0) {
        report(.ready(code: exitCode, message: message ?? ""))
    }

    /// Tells the original process that startup failed: it prints `message` on
    /// standard error and exits with `exitCode`. The daemon should then exit.
    /// Only the first report counts.
    public func fail(_ message: String, exitCode: Int32 = 1) {
        report(.failed(code: exitCode, message: message))
    }

    private func report(_ record: StatusChannel.Record) {
        channel.withLock { channel in
            guard let fd = channel else { return }
            StatusChannel.write(record, to: fd)
            fd.close()
            channel = nil
        }
    }

    /// True until `ready` or `fail` has been called.
    public var isWaitedFor: Bool { channel.withLock { $0 != nil } }

    /// The report channel, for a daemon that execs another program: it is
    /// close-on-exec, so a successful exec closes it.
    package var reportDescriptor: FileDescriptor? { channel.withLock { $0 } }

    /// Replaces the report channel after it was moved (see `Launcher.execInPlace`).
    package func adoptReportDescriptor(_ fd: FileDescriptor?) { channel.withLock { $0 = fd } }
}

extension DaemonOptions {
    /// Who the daemon becomes, looked up before the fork; nil: nobody else.
    func credentials() throws -> Credentials? {
        guard user != nil || group != nil else { return nil }
        return try Credentials.lookup(user: user, group: group)
    }

    /// The log files for standard output and error, opened before the fork
    /// (one descriptor when both name the same file).
    func openOutputs() throws -> (output: FileDescriptor?, error: FileDescriptor?) {
        var output: FileDescriptor?
        if case .file(let path) = standardOutput { output = try FileSystem.openLog(path) }
        guard case .file(let path) = standardError else { return (output, nil) }
        if standardOutput == standardError { return (output, output) }
        do {
            return (output, try FileSystem.openLog(path))
        } catch {
            output?.close()
            throw error
        }
    }
}
