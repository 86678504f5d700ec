internal import Glibc

extension ServiceController {
    /// Exec mode: the double-forked child takes the lock, writes its own pid
    /// and execs the command with the lock's descriptor left open; this
    /// process (a subreaper, so the service is its child until it exits)
    /// watches the start window and readiness itself.
    func startExec(_ configuration: ServiceConfiguration, credentials: Credentials?, restarts: Int) throws -> Outcome {
        let name = configuration.name
        let readiness = try ReadinessWatcher(configuration.ready, name: name)
        let handover = try readiness.prepareLaunch()
        switch try Daemon.fork(DaemonOptions(keepDescriptors: handover.handOff.map { [$0.rawValue] } ?? [])) {
        case .daemon(let daemon):
            execService(configuration, credentials: credentials, daemon: daemon, notifySocket: handover.notifySocket, descriptors: handover.descriptors,
                        restarts: restarts)
        case .original(let startup):
            handover.handOff?.close()
            defer { readiness.close() }
            switch startup.wait() {
            case .ready(let message, let code): return Outcome(code: code, output: message)
            case .failed(let message, let code):
                _ = startup.waitForDaemonExit()
                return Outcome(code: code, error: message)
            case .closed, .timedOut: break
            }
            guard let pid = startup.daemonPID, let handle = try? ProcessHandle.open(pid: pid) else {
                return Outcome(code: ExitCode.failure, error: Wording.startFailure(name, reason: "its process is gone", lines: []))
            }
            defer { handle.close() }
            let waited = ReadinessWait(configuration: configuration, process: handle, readiness: readiness).wait()
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
                             notifySocket: String?, descriptors readiness: [Int32: FileDescriptor], restarts: Int) -> Never {
        let name = configuration.name
        let pidFile = lockInDaemon(name, daemon: daemon, pid: CurrentProcess.id)
        var state = ServiceState(configuration: configuration)
        state.mode = .exec
        state.phase = .running
        state.restarts = restarts
        state.pid = CurrentProcess.id
        state.pidStartTime = ProcessTable.stat(of: CurrentProcess.id)?.startTime
        state.mainSeen = ProcessTable.ticksSinceBoot()
        state.serviceSince = WallClock.seconds()
        do {
            try state.write(paths.stateFile(name))
        } catch {
            // Without its record the service could not be told from a stranger.
            pidFile.release()
            daemon.fail(Wording.startFailure(name, reason: "cannot write its state: \(error)", lines: []), exitCode: ExitCode.failure)
            CurrentProcess.exit(1)
        }

        // The lock lives exactly as long as the command: it inherits the
        // descriptor, as 3 (or 4 when the notification descriptor is 3).
        var descriptors = readiness
        descriptors[descriptors[3] == nil ? 3 : 4] = pidFile.descriptors.first
        var output = LaunchConfiguration.Stream.null
        if let log = configuration.logFile(in: paths) {
            do {
                output = .descriptor(try ServicePaths.openLog(log).rawValue)
            } catch {
                pidFile.release()
                daemon.fail(Wording.startFailure(name, reason: "log \(log): \(error)", lines: []), exitCode: ExitCode.of(error))
                CurrentProcess.exit(1)
            }
        }
        let launch = configuration.launchConfiguration(credentials: credentials, output: output, error: output,
                                                       notifySocket: notifySocket, descriptors: descriptors, parentDeathSignal: nil)
        let (error, report) = Launcher.execInPlace(launch, keeping: daemon.reportDescriptor)
        daemon.adoptReportDescriptor(report)
        pidFile.release()
        state.phase = .failed
        state.pid = nil
        state.failure = Wording.failedToStart("\(error)")
        try? state.write(paths.stateFile(name))
        let code = ExitCode.of(error)
        daemon.fail(Wording.startFailure(name, reason: "\(error)", lines: []), exitCode: code)
        CurrentProcess.exit(127)
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
        Leftovers.stop(state, plan: StopRequest.plan(configuration), holders: holders, adopted: true)
        var why = reason
        if exited?.isSuccess == true && left > 0 { why = Wording.daemonized(reason, left: left, supervised: false) }
        if let lock = try? PIDFile.acquire(at: paths.pidFile(name), pid: nil, waitForPID: .zero) {
            state.phase = .failed
            state.pid = nil
            state.failure = Wording.failedToStart(why)
            try? state.write(paths.stateFile(name))
            lock.release()
        }
        return Outcome(code: ExitCode.failure, error: Wording.startFailure(name, reason: why, log: configuration.logFile(in: paths)))
    }

}

/// Waiting for an exec-mode service to be up: its start window, or what it
/// reports (see `ReadinessWatcher`), watching its pidfd for an early death
/// all along.
struct ReadinessWait {
    enum Result: Equatable {
        case ready
        case exited(ExitStatus)
        case failed(String)
    }

    let configuration: ServiceConfiguration
    let process: ProcessHandle
    let readiness: ReadinessWatcher

    func wait() -> Result {
        // With no start window, the exec was the start (as under a supervisor).
        if configuration.ready == .exec && configuration.minUptime.nanoseconds == 0 { return .ready }
        let window = configuration.ready == .exec ? configuration.minUptime : configuration.readyTimeout
        let deadline = Monotonic.now() + window.nanoseconds
        while true {
            var set = PollSet<FileDescriptor?>()
            set.add(process.descriptor, nil)
            for fd in readiness.descriptors { set.add(fd, fd) }
            for source in set.wait(timeoutMilliseconds: Monotonic.millisecondsUntil(deadline)) {
                guard let fd = source else { return exited() }
                for (event, _) in readiness.read(fd, isService: { ProcessTree.isDescendant($0, of: process.pid) }) {
                    switch event {
                    case .ready: return .ready
                    case .failed(let reason): return .failed(reason)
                    case .status, .mainPID, .watchdog: break
                    }
                }
            }
            if Monotonic.now() >= deadline {
                return configuration.ready == .exec ? .ready : .failed("not ready after \(configuration.readyTimeout)")
            }
        }
    }

    private func exited() -> Result {
        if let status = try? process.reap() { return .exited(status) }
        return .failed("exited")
    }
}
