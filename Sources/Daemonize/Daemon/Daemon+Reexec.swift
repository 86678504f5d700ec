internal import Glibc
internal import Synchronization

/// The daemon's pidfile, removed by the `atexit` handler (`removePIDFileAtExit`).
private let pidFileAtExit = Mutex<PIDFile?>(nil)

extension Daemon {
    /// The environment variable that tells a program started by `reexec`
    /// that it already is a daemon: "PID:FD:KEPT", the daemon's pid, its
    /// report channel's descriptor ("-" when it already reported) and the
    /// descriptors `reexec(keeping:)` kept ("3,4"). Read and removed by
    /// `detach`; meant for PID only.
    public static let environmentVariable = "DAEMONIZE_DAEMON"

    /// Execs the running program again: the file at the path it was started
    /// from, as given to `execve` (`AT_EXECFN`, with the working directory
    /// at start when it was relative), the last symlink not resolved, so
    /// that a deploy that renamed a new binary over it, or swapped a
    /// `current -> v2` link, runs the new one; `/proc/self/exe` when that
    /// path is gone. The same arguments, byte for byte, and environment; C streams flushed
    /// (a `print` just before is not lost); every signal's disposition set
    /// to default and none blocked, as in a program started afresh; every
    /// descriptor above 2 closed except `keeping`, which stay open at the
    /// same numbers. Returns only on failure, having closed nothing: a
    /// descriptor of `keeping` that is not open (`EBADF`), or the exec's error.
    /// The C function is `execv`.
    public static func reexec(keeping: [CInt] = []) -> SystemError {
        let kept = keeping.map(FileDescriptor.init(rawValue:))
        for fd in kept where fd.rawValue < 0 || !fd.isOpen {
            return SystemError("reexec", path: "descriptor \(fd.rawValue)", errno: .badDescriptor)
        }
        for fd in kept { try? fd.setCloseOnExec(false) }
        // Marked close-on-exec rather than closed: a failed exec loses nothing.
        FileDescriptor.markCloseOnExec(from: 3, keeping: kept)
        let error = CurrentProcess.executeAgain()
        for fd in kept where fd.rawValue > 2 { try? fd.setCloseOnExec(true) }
        return error
    }

    /// Execs this daemon's program again (see `Daemon.reexec(keeping:)`) as
    /// the same daemon: its `detach` returns at once, with the same pid, no
    /// privileged action run again, and `keptDescriptors` naming `keeping`
    /// (open at the same numbers). The pidfile stays locked across the exec,
    /// so no other instance can start in between, and the new program adopts
    /// the lock it holds through the inherited descriptor: it never reopens
    /// the file, which after a privilege drop is root's. A daemon that has
    /// not reported yet passes its report channel on, so the process that
    /// started it learns how the new program's startup ends. Returns only
    /// on failure.
    public func reexec(keeping: [CInt] = []) -> SystemError {
        var kept = keeping
        if let pidFile {
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
        let list = keeping.map(String.init).joined(separator: ",")
        Environment.set(Daemon.environmentVariable, to: "\(CurrentProcess.id):\(report.map { String($0.rawValue) } ?? "-"):\(list)")
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
        let fields = value.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard fields.count >= 2, pid_t(fields[0]) == CurrentProcess.id else { return nil }
        var channel: FileDescriptor?
        if let fd = CInt(fields[1]), fd > 2 {
            channel = FileDescriptor(rawValue: fd)
            try? channel?.setCloseOnExec(true)
        }
        // What the previous image kept: open here at the same numbers, close-on-exec again.
        let kept = (fields.count > 2 ? fields[2] : "").split(separator: ",").compactMap { CInt($0) }
            .map(FileDescriptor.init(rawValue:)).filter { $0.rawValue > 2 && $0.isOpen }
        for fd in kept { try? fd.setCloseOnExec(true) }
        var pidFile: PIDFile?
        do {
            if let path = options.pidFile {
                pidFile = try PIDFile.inherited(at: path) ?? PIDFile.acquire(at: path, mode: options.pidFileMode)
            }
        } catch {
            if let channel { StatusChannel.write(.failed(code: 1, message: "\(error)"), to: channel) }
            throw error
        }
        keepOnly(options.keepDescriptors.map(FileDescriptor.init(rawValue:)) + kept + [channel].compactMap { $0 } + (pidFile?.descriptors ?? []))
        if options.removePIDFileAtExit, let pidFile { removeAtExit(pidFile) }
        return Daemon(pidFile: pidFile, channel: channel, kept: kept.map(\.rawValue))
    }

    /// Closes every descriptor above 2 but `kept` and the signal traps'
    /// (a `SignalSequence` made before `detach` goes on working).
    static func keepOnly(_ kept: [FileDescriptor]) {
        FileDescriptor.closeAll(from: 3, keeping: kept + SignalTrap.descriptors)
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
