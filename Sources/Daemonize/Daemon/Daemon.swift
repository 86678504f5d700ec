/// A process that has become a daemon: double-forked, in its own session
/// without a controlling terminal, its working directory and umask set, its
/// standard streams on `/dev/null` or a log, its pidfile locked.
///
/// The process that called `detach` waits until the daemon calls `ready()`
/// (and exits 0), `fail(_:)` (exits 1 with the message) or dies (exits 1 with
/// "daemon exited during startup (status N)").
public final class Daemon {
    /// The daemon's locked pidfile, when one was asked for.
    public let pidFile: PIDFile?
    private var channel: FileDescriptor?

    private init(pidFile: PIDFile?, channel: FileDescriptor) {
        self.pidFile = pidFile
        self.channel = channel
    }

    /// The two sides of `Daemon.fork`.
    public enum Side {
        /// This process is the daemon.
        case daemon(Daemon)
        /// This process is the original; the daemon reports through the startup.
        case original(Startup)
    }

    /// Becomes a daemon: returns in the daemon; the original process waits
    /// for the daemon's report and exits with it.
    ///
    /// - Throws: before any fork, when the process has threads, the pidfile's
    ///   directory is unusable, the pidfile is locked or the log cannot be opened.
    public static func detach(_ options: DaemonOptions = DaemonOptions()) throws -> Daemon {
        switch try fork(options) {
        case .daemon(let daemon):
            return daemon
        case .original(let startup):
            CurrentProcess.exit(startup.finish())
        }
    }

    /// Double-forks like `detach`, but returns in both processes: the original
    /// gets a `Startup` to wait on and decides itself what to print.
    public static func fork(_ options: DaemonOptions = DaemonOptions()) throws -> Side {
        let threads = ProcessTable.threadCount()
        if threads > 1 { throw DaemonError.multithreaded(threads: threads) }

        if let pidPath = options.pidFile {
            let directory = Path.directory(of: pidPath)
            guard let st = try? FileSystem.status(directory) else {
                throw DaemonError.pidFileDirectory(SystemError("stat", path: directory, errno: .noSuchFile))
            }
            if st.st_mode & S_IFMT != S_IFDIR { throw DaemonError.pidFileDirectory(SystemError("stat", path: directory, errno: .notDirectory)) }
            if !FileSystem.isWritable(directory) { throw DaemonError.pidFileDirectory(SystemError("access", path: directory)) }
            switch PIDFile.status(at: pidPath) {
            case .running(let pid, let holder): throw PIDFile.Locked(path: pidPath, pid: pid, holder: holder)
            case .unreadable(let reason, _): throw DaemonError.unusablePIDFile(reason)
            default: break
            }
        }
        var log: FileDescriptor?
        if case .file(let path) = options.output {
            log = try FileSystem.openLog(path)
        }

        CurrentProcess.flushStandardStreams()
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        // As a subreaper, the original adopts the daemon when the intermediate
        // child exits, and so learns its exit status if it dies during startup.
        CurrentProcess.becomeChildSubreaper()
        let first: pid_t
        do {
            first = try CurrentProcess.fork()
        } catch {
            readEnd.close(); writeEnd.close(); log?.close()
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
            return .daemon(become(options, channel: writeEnd, log: log))
        }
        writeEnd.close()
        log?.close()
        _ = CurrentProcess.reap(first)
        return .original(Startup(channel: readEnd))
    }

    private static func failEarly(_ channel: FileDescriptor, _ message: String) -> Never {
        StatusChannel.write(.failed(code: 1, message: message), to: channel)
        CurrentProcess.exitNow(1)
    }

    /// The daemon side: directory, umask, streams, pidfile, descriptors.
    private static func become(_ options: DaemonOptions, channel: FileDescriptor, log: FileDescriptor?) -> Daemon {
        do {
            try CurrentProcess.changeDirectory(to: options.workingDirectory)
            CurrentProcess.setFileModeMask(options.umask)
            let null = try FileDescriptor.open("/dev/null", O_RDWR)
            try null.duplicate(onto: 0)
            try (log ?? null).duplicate(onto: 1)
            try (log ?? null).duplicate(onto: 2)
            if null.rawValue > 2 { null.close() }
        } catch {
            failEarly(channel, "\(error)")
        }
        if let log, log.rawValue > 2 { log.close() }

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
        FileDescriptor.closeAll(from: 3, keeping: options.keepDescriptors + [channel] + (pidFile?.descriptors ?? []))
        return Daemon(pidFile: pidFile, channel: channel)
    }

    /// Tells the original process that startup succeeded: it prints `message`
    /// (if any) on standard output and exits with `exitCode`.
    public func ready(_ message: String? = nil, exitCode: Int32 = 0) {
        guard let channel else { return }
        StatusChannel.write(.ready(code: exitCode, message: message ?? ""), to: channel)
        channel.close()
        self.channel = nil
    }

    /// Tells the original process that startup failed: it prints `message` on
    /// standard error and exits with `exitCode`. The daemon should then exit.
    public func fail(_ message: String, exitCode: Int32 = 1) {
        guard let channel else { return }
        StatusChannel.write(.failed(code: exitCode, message: message), to: channel)
        channel.close()
        self.channel = nil
    }

    /// True until `ready` or `fail` has been called.
    public var isWaitedFor: Bool { channel != nil }

    /// The report channel, for a daemon that execs another program: it is
    /// close-on-exec, so a successful exec closes it.
    public var reportDescriptor: FileDescriptor? { channel }

    /// Replaces the report channel after it was moved (see `Launcher.execInPlace`).
    public func adoptReportDescriptor(_ fd: FileDescriptor?) { channel = fd }

    /// Execs the same executable (`/proc/self/exe`) with the same arguments
    /// and environment, every descriptor above 2 closed except `keeping`.
    /// Returns only on failure.
    public static func reexec(keeping: [FileDescriptor] = []) -> SystemError {
        for fd in keeping { try? fd.setCloseOnExec(false) }
        // Marked close-on-exec rather than closed: a failed exec loses nothing.
        FileDescriptor.markCloseOnExec(from: 3, keeping: keeping)
        return CurrentProcess.execute("/proc/self/exe", arguments: CommandLine.arguments)
    }
}

