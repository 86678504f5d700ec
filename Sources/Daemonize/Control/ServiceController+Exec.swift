extension ServiceController {
    /// Exec mode: the double-forked child takes the lock, writes its own pid
    /// and execs the command with the lock's descriptor left open; this
    /// process (a subreaper, so the service is its child until it exits)
    /// watches the start window and readiness itself.
    func startExec(_ configuration: ServiceConfiguration, credentials: Credentials?) throws -> Outcome {
        let name = configuration.name
        var notify: NotifyListener?
        var readiness: (read: FileDescriptor, write: FileDescriptor)?
        var keep: [FileDescriptor] = []
        switch configuration.ready {
        case .notify:
            notify = try NotifyListener(name: name)
        case .descriptor:
            readiness = try FileDescriptor.pipe()
            keep.append(readiness!.write)
        case .exec:
            break
        }
        switch try Daemon.fork(DaemonOptions(keepDescriptors: keep)) {
        case .daemon(let daemon):
            execService(configuration, credentials: credentials, daemon: daemon, notifySocket: notify?.address, readyWrite: readiness?.write)
        case .original(let startup):
            readiness?.write.close()
            defer {
                notify?.close()
                readiness?.read.close()
            }
            switch startup.wait() {
            case .ready(let message, let code): return Outcome(code: code, output: message)
            case .failed(let message, let code):
                _ = startup.waitForDaemonExit()
                return Outcome(code: code, error: message)
            case .closed: break
            }
            guard let pid = startup.daemonPID, let handle = try? ProcessHandle.open(pid: pid) else {
                return Outcome(code: ExitCode.failure, error: Wording.startFailure(name, reason: "its process is gone", lines: []))
            }
            defer { handle.close() }
            let waited = ReadinessWait(configuration: configuration, process: handle, notify: notify, pipe: readiness?.read).wait()
            switch waited {
            case .ready:
                return Outcome(code: ExitCode.success, output: Wording.started(name, pid: pid))
            case .exited(let status):
                return execStartFailed(configuration, pid: pid, reason: "\(status)", exited: status)
            case .failed(let reason):
                return execStartFailed(configuration, pid: pid, reason: reason, exited: nil)
            }
        }
    }

    /// In the daemon: lock, record, exec. Never returns.
    private func execService(_ configuration: ServiceConfiguration, credentials: Credentials?, daemon: Daemon,
                             notifySocket: String?, readyWrite: FileDescriptor?) -> Never {
        let name = configuration.name
        let pidFile = lockInDaemon(name, daemon: daemon, pid: getpid())
        var state = ServiceState(configuration: configuration)
        state.mode = .exec
        state.phase = .running
        state.pid = getpid()
        state.pidStartTime = ProcessTable.stat(of: getpid())?.startTime
        state.serviceSince = WallClock.seconds()
        do {
            try state.write(paths.stateFile(name))
        } catch {
            // Without its record the service could not be told from a stranger.
            pidFile.release()
            daemon.fail(Wording.startFailure(name, reason: "cannot write its state: \(error)", lines: []), exitCode: ExitCode.failure)
            exit(1)
        }

        var descriptors: [Int32: FileDescriptor] = [:]
        var readyNumber: Int32?
        if case .descriptor(let n) = configuration.ready, let readyWrite {
            descriptors[n] = readyWrite
            readyNumber = n
        }
        // The lock lives exactly as long as the command: it inherits the descriptor.
        let lockNumber: Int32 = readyNumber == 3 ? 4 : 3
        descriptors[lockNumber] = pidFile.descriptor
        var output = LaunchConfiguration.Stream.null
        if let log = configuration.logFile(in: paths) {
            do {
                output = .descriptor(try FileSystem.openLog(log))
            } catch {
                pidFile.release()
                daemon.fail(Wording.startFailure(name, reason: "log \(log): \(error)", lines: []), exitCode: ExitCode.of(error))
                exit(1)
            }
        }
        let launch = configuration.launchConfiguration(credentials: credentials, output: output, error: output,
                                                       notifySocket: notifySocket, descriptors: descriptors, parentDeathSignal: nil)
        let (error, report) = Launcher.execInPlace(launch, keeping: daemon.reportDescriptor)
        daemon.adoptReportDescriptor(report)
        pidFile.release()
        state.phase = .failed
        state.pid = nil
        state.failure = "failed to start: \(error)"
        try? state.write(paths.stateFile(name))
        let code = (error as? LaunchError)?.startExitCode ?? ExitCode.failure
        daemon.fail(Wording.startFailure(name, reason: "\(error)", lines: []), exitCode: code)
        exit(127)
    }

    /// The command died or never became ready: stop what is left of it (its
    /// session, whatever holds its lock, and its orphans, which this process
    /// adopted as their subreaper), clear its pidfile, record the failure,
    /// and say why with its last log lines.
    private func execStartFailed(_ configuration: ServiceConfiguration, pid: pid_t, reason: String, exited: ExitStatus?) -> Outcome {
        let name = configuration.name
        var state = (try? ServiceState.read(paths.stateFile(name), name: name)) ?? ServiceState(configuration: configuration)
        state.mode = .exec
        state.pid = pid
        let holders = (try? ServiceSnapshot.read(name, paths: paths))?.lockHolders() ?? []
        let left = Leftovers.find(state, holders: holders, adopted: true).filter { $0 != pid }.count
        Leftovers.stop(state, signal: configuration.stopSignal, timeout: configuration.stopTimeout, holders: holders, adopted: true)
        var why = reason
        if exited?.isSuccess == true && left > 0 { why = Wording.daemonized(reason, left: left) }
        if let lock = try? PIDFile.acquire(at: paths.pidFile(name), pid: nil, waitForPID: 0) {
            state.phase = .failed
            state.pid = nil
            state.failure = "failed to start: \(why)"
            try? state.write(paths.stateFile(name))
            lock.release()
        }
        return Outcome(code: ExitCode.failure, error: Wording.startFailure(name, reason: why, log: configuration.logFile(in: paths)))
    }

}

/// Waiting for an exec-mode service to be up: its start window, a READY=1
/// on the notify socket, or a newline on the readiness pipe, watching its
/// pidfd for an early death all along.
struct ReadinessWait {
    enum Result: Equatable {
        case ready
        case exited(ExitStatus)
        case failed(String)
    }

    let configuration: ServiceConfiguration
    let process: ProcessHandle
    let notify: NotifyListener?
    let pipe: FileDescriptor?

    func wait() -> Result {
        var pipe = self.pipe
        let start = Monotonic.now()
        let deadline: Int64
        switch configuration.ready {
        case .exec: deadline = start + configuration.minUptime.nanoseconds
        case .notify, .descriptor: deadline = start + configuration.readyTimeout.nanoseconds
        }
        while true {
            var fds = [pollfd(fd: process.descriptor.rawValue, events: Int16(POLLIN), revents: 0)]
            if let notify { fds.append(pollfd(fd: notify.descriptor.rawValue, events: Int16(POLLIN), revents: 0)) }
            if let pipe { fds.append(pollfd(fd: pipe.rawValue, events: Int16(POLLIN), revents: 0)) }
            _ = poll(&fds, nfds_t(fds.count), Monotonic.millisecondsUntil(deadline))
            if fds[0].revents != 0 {
                var info = siginfo_t()
                if dz_waitid_pidfd(process.descriptor.rawValue, &info, WEXITED) == 0 {
                    return .exited(ExitStatus(siginfo: info))
                }
                return .failed("exited")
            }
            if let notify {
                while let message = notify.receive() {
                    guard message.sender > 0, ProcessTree.isDescendant(message.sender, of: process.pid) else { continue }
                    if let code = message.fields["ERRNO"].flatMap({ Int32($0) }) {
                        return .failed("it reported errno \(code) (\(Errno(rawValue: code)))")
                    }
                    if message.fields["READY"] == "1" { return .ready }
                }
            }
            if let readyPipe = pipe, fds.last!.revents != 0 {
                var bytes = [UInt8](repeating: 0, count: 512)
                let n = bytes.withUnsafeMutableBytes { read(readyPipe.rawValue, $0.baseAddress, $0.count) }
                if n > 0 && bytes[0..<n].contains(10) { return .ready }
                if n == 0 { pipe = nil }
            }
            if Monotonic.now() >= deadline {
                if configuration.ready == .exec { return .ready }
                return .failed("not ready after \(configuration.readyTimeout)")
            }
        }
    }
}
