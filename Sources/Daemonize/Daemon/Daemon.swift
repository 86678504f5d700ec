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
            let code = startup.finish()
            exit(code)
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
            if access(directory, W_OK) != 0 { throw DaemonError.pidFileDirectory(SystemError("access", path: directory)) }
            switch PIDFile.status(at: pidPath) {
            case .running(let pid, let holder): throw PIDFile.Locked(path: pidPath, pid: pid, holder: holder)
            case .unreadable(let reason, _): throw DaemonError.unusablePIDFile(reason)
            default: break
            }
        }
        var log: FileDescriptor?
        if case .file(let path) = options.output {
            log = try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NOCTTY, mode: 0o644)
        }

        fflush(nil)
        let (readEnd, writeEnd) = try FileDescriptor.pipe()
        // As a subreaper, the original adopts the daemon when the intermediate
        // child exits, and so learns its exit status if it dies during startup.
        _ = dz_set_child_subreaper()
        let first = dz_fork()
        if first < 0 {
            let error = SystemError("fork")
            readEnd.close(); writeEnd.close(); log?.close()
            throw error
        }
        if first == 0 {
            readEnd.close()
            if setsid() < 0 { failEarly(writeEnd, "setsid: \(Errno.current)") }
            CrashPoint.reach("between-forks")
            let second = dz_fork()
            if second < 0 { failEarly(writeEnd, "fork: \(Errno.current)") }
            if second > 0 {
                StatusChannel.write(.pid(second), to: writeEnd)
                _exit(0)
            }
            return .daemon(become(options, channel: writeEnd, log: log))
        }
        writeEnd.close()
        log?.close()
        var status: Int32 = 0
        _ = retryingOnInterrupt { waitpid(first, &status, 0) }
        return .original(Startup(channel: readEnd))
    }

    private static func failEarly(_ channel: FileDescriptor, _ message: String) -> Never {
        StatusChannel.write(.failed(code: 1, message: message), to: channel)
        _exit(1)
    }

    /// The daemon side: directory, umask, streams, pidfile, descriptors.
    private static func become(_ options: DaemonOptions, channel: FileDescriptor, log: FileDescriptor?) -> Daemon {
        if chdir(options.workingDirectory) != 0 {
            failEarly(channel, "\(SystemError("chdir", path: options.workingDirectory))")
        }
        umask(options.umask)
        guard let null = try? FileDescriptor.open("/dev/null", O_RDWR) else { failEarly(channel, "open /dev/null: \(Errno.current)") }
        dup2(null.rawValue, 0)
        dup2(log?.rawValue ?? null.rawValue, 1)
        dup2(log?.rawValue ?? null.rawValue, 2)
        if null.rawValue > 2 { null.close() }
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
        var keep = options.keepDescriptors.map(\.rawValue) + [channel.rawValue]
        if let pidFile { keep += pidFile.descriptors.map(\.rawValue) }
        _ = dz_close_all_except(3, keep, Int32(keep.count))
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
        let arguments = CommandLine.arguments
        for fd in keeping { try? fd.setCloseOnExec(false) }
        // Marked close-on-exec rather than closed: a failed exec loses nothing.
        let keep = keeping.map(\.rawValue)
        var sorted = keep.sorted()
        sorted.append(Int32.max)
        var next: Int32 = 3
        for k in sorted where k >= next {
            if k > next { _ = dz_close_range(UInt32(next), k == Int32.max ? UInt32.max : UInt32(k - 1), 1) }
            if k == Int32.max { break }
            next = k + 1
        }
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        execv("/proc/self/exe", argv)
        return SystemError("exec", path: "/proc/self/exe")
    }
}

