internal import Glibc
internal import Synchronization

/// The daemon's pidfile, removed by the `atexit` handler (`removePIDFileAtExit`).
private let pidFileAtExit = Mutex<PIDFile?>(nil)

extension Daemon {
    /// The environment variable that tells a program started by `reexec`
    /// that it already is a daemon: "PID:FD", the daemon's pid and its
    /// report channel's descriptor ("-" when it already reported). Read and
    /// removed by `detach`.
    public static let environmentVariable = "DAEMONIZE_DAEMON"

    /// Execs the running program again: the executable now at the path it
    /// was started from (after an upgrade that replaced the file, the new
    /// one; `/proc/self/exe` when that path is gone), with the same
    /// arguments and environment, every descriptor above 2 closed except
    /// `keeping`. Returns only on failure, having closed nothing. The C
    /// function is `execv`.
    public static func reexec(keeping: [CInt] = []) -> SystemError {
        let kept = keeping.map(FileDescriptor.init(rawValue:))
        for fd in kept { try? fd.setCloseOnExec(false) }
        // Marked close-on-exec rather than closed: a failed exec loses nothing.
        FileDescriptor.markCloseOnExec(from: 3, keeping: kept)
        var error = SystemError("exec", path: "/proc/self/exe", errno: .noSuchFile)
        if let path = CurrentProcess.executablePath() {
            error = CurrentProcess.execute(path, arguments: CommandLine.arguments)
        }
        if error.errno == .noSuchFile {
            error = CurrentProcess.execute("/proc/self/exe", arguments: CommandLine.arguments)
        }
        for fd in kept { try? fd.setCloseOnExec(true) }
        return error
    }

    /// Execs this daemon's program again (see `Daemon.reexec(keeping:)`) as
    /// the same daemon: its `detach` returns at once. With `keepingPIDFile`
    /// the pidfile stays locked across the exec (no other instance can
    /// start in between) and the new program's `detach` adopts it; without,
    /// the lock is let go and taken again. A daemon that has not reported
    /// yet passes its report channel on, so the process that started it
    /// learns how the new program's startup ends. Returns only on failure.
    public func reexec(keepingPIDFile: Bool = true, keeping: [CInt] = []) -> SystemError {
        var kept = keeping
        if keepingPIDFile, let pidFile {
            do {
                try pidFile.keepAcrossExec()
                if let fd = pidFile.descriptor { kept.append(fd) }
            } catch let error as SystemError {
                return error
            } catch {
                return SystemError("fcntl", path: pidFile.path, errno: .invalid)
            }
        }
        let report = reportDescriptor
        if let report { kept.append(report.rawValue) }
        Environment.set(Daemon.environmentVariable, to: "\(CurrentProcess.id):\(report.map { String($0.rawValue) } ?? "-")")
        let error = Daemon.reexec(keeping: kept)
        Environment.set(Daemon.environmentVariable, to: nil)
        Environment.set(PIDFile.environmentVariable, to: nil)
        if let fd = pidFile?.descriptor { try? FileDescriptor(rawValue: fd).setCloseOnExec(true) }
        return error
    }

    /// The daemon this process was before it `reexec`'d itself, nil when it
    /// was not one (or the variable is meant for another process).
    static func resume(_ options: DaemonOptions) throws -> Daemon? {
        guard let value = Environment.value(environmentVariable) else { return nil }
        Environment.set(environmentVariable, to: nil)
        guard let (pid, report) = value.splitAtFirst(":"), pid_t(pid) == CurrentProcess.id else { return nil }
        var channel: FileDescriptor?
        if let fd = CInt(report), fd > 2 {
            channel = FileDescriptor(rawValue: fd)
            try? channel?.setCloseOnExec(true)
        }
        var pidFile: PIDFile?
        do {
            if let path = options.pidFile {
                pidFile = try PIDFile.inherited(at: path) ?? PIDFile.acquire(at: path, mode: options.pidFileMode)
            }
        } catch {
            if let channel { StatusChannel.write(.failed(code: 1, message: "\(error)"), to: channel) }
            throw error
        }
        FileDescriptor.closeAll(from: 3, keeping: options.keepDescriptors.map(FileDescriptor.init(rawValue:)) + [channel].compactMap { $0 } + (pidFile?.descriptors ?? []))
        if options.removePIDFileAtExit, let pidFile { removeAtExit(pidFile) }
        return Daemon(pidFile: pidFile, channel: channel)
    }

    /// Releases `pidFile` when the process exits (`atexit`).
    static func removeAtExit(_ pidFile: PIDFile) {
        let first = pidFileAtExit.withLock { held in
            defer { held = pidFile }
            return held == nil
        }
        if first { CurrentProcess.atExit { pidFileAtExit.withLock { $0?.release() } } }
    }
}
