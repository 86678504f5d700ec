extension ServiceController {
    // MARK: stop

    /// Stops the service: asks its supervisor (which stops every process of
    /// it) or, in exec mode, signals its session itself; returns once the
    /// lock is released and nothing of the service is left.
    public func stop(_ name: ServiceName, signal: Signal? = nil, timeout: Interval? = nil) -> Outcome {
        if let refused = checkRunDirectory() { return refused }
        let recorded = try? ServiceState.read(paths.stateFile(name), name: name)
        let pidPath = paths.pidFile(name)
        switch PIDFile.status(at: pidPath) {
        case .unreadable(let reason):
            return Outcome(code: ExitCode.failure, error: "\(name): \(reason)")
        case .absent, .stale:
            return stopDead(name, signal: signal, timeout: timeout)
        case .running(let pid, _):
            // Without a record, the kernel's lock table says whether the service holds its own lock.
            let exec = recorded?.mode == .exec || (recorded == nil && pid != nil && pid == PIDFile.lockHolder(at: pidPath))
            return exec ? stopExec(name, recorded: recorded, signal: signal, timeout: timeout)
                        : stopSupervised(name, recorded: recorded, signal: signal, timeout: timeout)
        }
    }

    /// Not running: clears a stale pidfile and whatever a dead supervisor
    /// left, holding the pidfile's lock the while (see `clearLeftovers`); a
    /// service started meanwhile holds it, and is then left alone.
    private func stopDead(_ name: ServiceName, signal: Signal?, timeout: Interval?) -> Outcome {
        guard let lock = try? PIDFile.acquire(at: paths.pidFile(name), pid: nil, waitForPID: 0) else {
            return Outcome(code: ExitCode.success, output: "\(name) is not running")
        }
        defer { lock.release() }
        var leftovers = 0
        if var recorded = try? ServiceState.read(paths.stateFile(name), name: name) {
            leftovers = Leftovers.find(recorded).count
            if leftovers > 0 {
                Leftovers.stop(recorded, signal: signal ?? recorded.configuration.stopSignal, timeout: timeout ?? recorded.configuration.stopTimeout)
            }
            if [.starting, .running, .backoff, .stopping].contains(recorded.phase) {
                recorded.phase = .stopped
                recorded.pid = nil
                try? recorded.write(paths.stateFile(name))
            }
        }
        if leftovers > 0 { return Outcome(code: ExitCode.success, output: "\(name) stopped (\(leftovers) leftover process\(leftovers == 1 ? "" : "es") of a dead supervisor)") }
        return Outcome(code: ExitCode.success, output: "\(name) is not running")
    }

    private func stopSupervised(_ name: ServiceName, recorded: ServiceState?, signal: Signal?, timeout: Interval?) -> Outcome {
        let pidPath = paths.pidFile(name)
        let supervisor: ProcessHandle
        do {
            guard let handle = try PIDFile.openProcess(at: pidPath, .holder(expected: recorded?.supervisorPID)) else {
                return Outcome(code: ExitCode.success, output: "\(name) is not running")
            }
            supervisor = handle
        } catch {
            return Outcome(code: ExitCode.failure, error: "\(name): \(error)")
        }
        defer { supervisor.close() }
        do {
            if let value = StopRequest.encode(signal: signal, timeout: timeout) {
                try supervisor.send(.terminate, value: value)
            } else {
                try supervisor.send(.terminate)
            }
        } catch let error as SystemError where error.errno == .noSuchProcess {
            return Outcome(code: ExitCode.success, output: "\(name) is not running")
        } catch let error as SystemError {
            return Outcome(code: ExitCode.forStart(error.errno), error: "\(name): cannot signal its supervisor: \(error.errno)")
        } catch {
            return Outcome(code: ExitCode.failure, error: "\(name): \(error)")
        }
        // The supervisor exits only once every process of the service is gone;
        // its exit releases the lock. Its pidfd says so at once.
        let allowed = (timeout ?? recorded?.configuration.stopTimeout ?? .seconds(10)).nanoseconds + 10_000_000_000
        if supervisor.waitForExit(timeoutMilliseconds: Int32(clamping: allowed / 1_000_000)) {
            return Outcome(code: ExitCode.success, output: "\(name) stopped")
        }
        // A supervisor that does not answer: kill it; its service gets its
        // parent-death signal, and whatever is left of the session is stopped here.
        try? supervisor.send(.kill)
        _ = supervisor.waitForExit(timeoutMilliseconds: 5000)
        if let recorded {
            Leftovers.stop(recorded, signal: .kill, timeout: .seconds(1))
        }
        if case .running = PIDFile.status(at: pidPath) {
            return Outcome(code: ExitCode.failure, error: "\(name): could not stop: its supervisor did not exit")
        }
        return Outcome(code: ExitCode.success, output: "\(name) stopped (its supervisor did not answer and was killed)")
    }

    /// Exec mode: the stop signal to the service's process group, SIGKILL
    /// after the timeout, then wait for the rest of its session and its lock.
    private func stopExec(_ name: ServiceName, recorded: ServiceState?, signal: Signal?, timeout: Interval?) -> Outcome {
        let pidPath = paths.pidFile(name)
        let stopSignal = signal ?? recorded?.configuration.stopSignal ?? .terminate
        let stopTimeout = timeout ?? recorded?.configuration.stopTimeout ?? .seconds(10)
        guard let service = try? PIDFile.openProcess(at: pidPath, .recorded) else {
            return Outcome(code: ExitCode.success, output: "\(name) is not running")
        }
        defer { service.close() }
        let pid = service.pid
        // The leader is alive (its pidfd says so), so its group is its own.
        if !service.hasExited {
            _ = kill(-pid, stopSignal.rawValue)
            _ = kill(-pid, SIGCONT)
        }
        try? service.send(stopSignal)
        if !service.waitForExit(timeoutMilliseconds: Int32(clamping: stopTimeout.milliseconds)) {
            if !service.hasExited { _ = kill(-pid, SIGKILL) }
            try? service.send(.kill)
            _ = service.waitForExit(timeoutMilliseconds: 5000)
        }
        var state = recorded ?? ServiceState(configuration: ServiceConfiguration(name: name))
        state.pid = pid
        Leftovers.stop(state, signal: stopSignal, timeout: stopTimeout)
        // Children that inherited the lock's descriptor hold it until they end.
        let deadline = Monotonic.now() + 5_000_000_000
        while case .running = PIDFile.status(at: pidPath), Monotonic.now() < deadline {
            Monotonic.sleep(nanoseconds: 2_000_000)
        }
        guard let lock = try? PIDFile.acquire(at: pidPath, pid: nil, waitForPID: 0) else {
            return Outcome(code: ExitCode.failure, error: "\(name): could not stop: its pidfile is still locked")
        }
        if var recorded {
            recorded.phase = .stopped
            recorded.pid = nil
            try? recorded.write(paths.stateFile(name))
        }
        lock.release()
        return Outcome(code: ExitCode.success, output: "\(name) stopped")
    }

    /// Refuses to act on pidfiles in a run dir others could plant files in.
    func checkRunDirectory() -> Outcome? {
        guard FileSystem.exists(paths.runDirectory) else { return nil }
        do {
            try ServicePaths.checkSafe(paths.runDirectory, what: "run dir")
            return nil
        } catch let error as ServiceError {
            return .failure(error)
        } catch {
            return Outcome(code: ExitCode.failure, error: "\(error)")
        }
    }

    // MARK: reload, signal

    /// Sends the service its reload signal (HUP unless configured otherwise).
    public func reload(_ name: ServiceName) -> Outcome {
        let recorded = try? ServiceState.read(paths.stateFile(name), name: name)
        return signal(name, recorded?.configuration.reloadSignal ?? .hangup, verb: "reloaded")
    }

    /// Sends `signal` to the service's main process through a pidfd taken
    /// while its pidfile is locked. Exit 3 when it is not running.
    public func signal(_ name: ServiceName, _ signal: Signal, verb: String? = nil) -> Outcome {
        if let refused = checkRunDirectory() { return refused }
        do {
            guard let handle = try PIDFile.openProcess(at: paths.pidFile(name), .recorded) else {
                return Outcome(code: ExitCode.notRunning, error: "\(name) is not running")
            }
            defer { handle.close() }
            try handle.send(signal)
            let what = verb.map { "\(name) \($0) (\(signal.name) sent to pid \(handle.pid))" } ?? "sent \(signal.name) to \(name) (pid \(handle.pid))"
            return Outcome(code: ExitCode.success, output: what)
        } catch let error as SystemError where error.errno == .noSuchProcess {
            return Outcome(code: ExitCode.notRunning, error: "\(name) is not running")
        } catch let error as SystemError {
            return Outcome(code: ExitCode.forStart(error.errno), error: "\(name): \(error)")
        } catch {
            return Outcome(code: ExitCode.failure, error: "\(name): \(error)")
        }
    }

    // MARK: restart

    /// Stops the service (if running) and starts it with `configuration`.
    public func restart(_ configuration: ServiceConfiguration) -> Outcome {
        let stopped = stop(configuration.name)
        guard stopped.code == ExitCode.success else { return stopped }
        var started = start(configuration)
        if started.code == ExitCode.success, let output = started.output, output.contains("started") {
            started.output = output.replacingAll(" started ", with: " restarted ")
        }
        return started
    }
}
