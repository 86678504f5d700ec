internal import Glibc

extension ServiceController {
    // MARK: stop

    /// Stops the service: asks its supervisor (which stops every process of
    /// it) or, in exec mode, signals its processes itself; returns once
    /// nothing of the service is left. Only a process proven to be the
    /// service's is ever signalled; a lock held by anything else (another
    /// command clearing up) is waited for, never signalled.
    package func stop(_ name: ServiceName, signal: ProcessSignal? = nil, timeout: Interval? = nil) -> Outcome {
        if let refused = checkRunDirectory() { return refused }
        let started = Monotonic.now()
        var pause: Int64 = 1_000_000
        do {
            while true {
                let snapshot = try ServiceSnapshot.read(name, paths: paths)
                let configured = snapshot.recorded?.configuration ?? ServiceConfiguration(name: name)
                let plan = StopRequest.plan(configured, signal: signal, timeout: timeout)
                if snapshot.isExecMode {
                    if try snapshot.isRunning() { return try stopExec(snapshot, plan: plan) }
                } else if let supervisor = try snapshot.supervisor() {
                    return stopSupervised(name, supervisor: supervisor, signal: signal, timeout: timeout, plan: plan)
                }
                switch snapshot.lock {
                case .held:
                    // Held by no supervisor we know: a command clearing what a
                    // dead instance left, or a new supervisor about to record
                    // itself (without any record, only briefly).
                    let patience = snapshot.recorded == nil ? 2_000_000_000 : plan.total.nanoseconds + 30_000_000_000
                    if Monotonic.now() - started >= patience {
                        return Outcome(code: ExitCode.failure, error: "\(name): could not stop: \(snapshot.pidPath) is locked by a process that is not its supervisor (refused)")
                    }
                    Monotonic.sleep(nanoseconds: pause)
                    pause = min(pause * 2, 20_000_000)
                    continue
                case .untrusted(let holder):
                    return Outcome(code: ExitCode.failure, error: untrustedLock(snapshot, holder: holder))
                case .absent, .free:
                    if let outcome = stopDead(name, plan: plan) { return outcome }
                    continue
                }
            }
        } catch {
            return Outcome(code: ExitCode.of(error), error: error is ServiceError ? "\(error)" : "\(name): \(error)")
        }
    }

    /// Not running: clears a stale pidfile and whatever a dead supervisor
    /// left, holding the pidfile's lock the while (see `clearLeftovers`); a
    /// service started meanwhile holds it, and is then left alone. Nil when
    /// the record under the lock names an instance that still runs: look again.
    private func stopDead(_ name: ServiceName, plan: StopPlan) -> Outcome? {
        guard let lock = try? PIDFile.acquire(at: paths.pidFile(name), pid: nil, waitForPID: .zero) else {
            return Outcome(code: ExitCode.success, output: Wording.notRunning(name))
        }
        defer { lock.release() }
        CrashPoint.reach("clearing-leftovers")
        var leftovers = 0
        if var recorded = try? ServiceState.read(paths.stateFile(name), name: name) {
            do {
                if try recorded.liveInstance() != nil { return nil }
            } catch {
                return Outcome(code: ExitCode.of(error), error: "\(name): \(error)")
            }
            leftovers = Leftovers.find(recorded).count
            if leftovers > 0 { Leftovers.stop(recorded, plan: plan) }
            if recorded.isActive {
                recorded.phase = .stopped
                recorded.pid = nil
                try? recorded.write(paths.stateFile(name))
            }
        }
        if leftovers > 0 { return Outcome(code: ExitCode.success, output: Wording.stopped(name, "\(leftovers) leftover process\(leftovers == 1 ? "" : "es") of a dead supervisor")) }
        return Outcome(code: ExitCode.success, output: Wording.notRunning(name))
    }

    private func stopSupervised(_ name: ServiceName, supervisor: ProcessHandle, signal: ProcessSignal?, timeout: Interval?, plan: StopPlan) -> Outcome {
        defer { supervisor.close() }
        do {
            if let value = StopRequest.encode(signal: signal, timeout: timeout) {
                try supervisor.send(.terminate, value: value)
            } else {
                try supervisor.send(.terminate)
            }
        } catch let error as SystemError where error.errno == .noSuchProcess {
            // It died just now: see below what it left.
        } catch let error as SystemError {
            return Outcome(code: ExitCode.forStart(error.errno), error: "\(name): cannot signal its supervisor: \(error.errno)")
        } catch {
            return Outcome(code: ExitCode.failure, error: "\(name): \(error)")
        }
        // The supervisor exits only once every process of the service is gone;
        // its exit releases the lock. Its pidfd says so at once.
        let allowed = plan.total.nanoseconds + 10_000_000_000
        var killed = false
        if !supervisor.waitForExit(timeoutMilliseconds: Int32(clamping: allowed / 1_000_000)) {
            // A supervisor that does not answer: kill it; its service gets its
            // parent-death signal, and whatever is left is stopped below.
            try? supervisor.send(.kill)
            _ = supervisor.waitForExit(timeoutMilliseconds: 5000)
            killed = true
        }
        return afterSupervisor(name, supervisor: supervisor.pid, killed: killed, plan: plan)
    }

    /// The supervisor is gone. If it recorded the end of its service, that is
    /// the answer; if it died first (killed by the OOM killer, or by us), what
    /// is left of the service is stopped here, under the lock, and recorded.
    private func afterSupervisor(_ name: ServiceName, supervisor: pid_t, killed: Bool, plan: StopPlan) -> Outcome {
        if !killed, let final = try? ServiceState.read(paths.stateFile(name), name: name), final.supervisorPID == supervisor, !final.isActive {
            return Outcome(code: ExitCode.success, output: Wording.stopped(name))
        }
        guard let lock = try? PIDFile.acquire(at: paths.pidFile(name), pid: nil, waitForPID: .zero) else {
            // Another start took the service over meanwhile: ours is gone.
            return Outcome(code: ExitCode.success, output: Wording.stopped(name))
        }
        defer { lock.release() }
        var left = 0
        var cleared = true
        if var recorded = try? ServiceState.read(paths.stateFile(name), name: name), recorded.supervisorPID == supervisor {
            left = Leftovers.find(recorded).count
            cleared = Leftovers.stop(recorded, plan: killed ? .kill : plan)
            if recorded.isActive {
                recorded.phase = .stopped
                recorded.pid = nil
                try? recorded.write(paths.stateFile(name))
            }
        }
        if !cleared { return Outcome(code: ExitCode.failure, error: "\(name): could not stop: processes of it are still running") }
        if killed { return Outcome(code: ExitCode.success, output: Wording.stopped(name, "its supervisor did not answer and was killed")) }
        let detail = left > 0 ? "; \(left) process\(left == 1 ? "" : "es") of it stopped" : ""
        return Outcome(code: ExitCode.success, output: Wording.stopped(name, "its supervisor died during the stop\(detail)"))
    }

    /// Exec mode: the stop plan for every process of the service (its
    /// session, and whatever holds its lock), then the record, under the
    /// lock once nobody holds it.
    private func stopExec(_ snapshot: ServiceSnapshot, plan: StopPlan) throws -> Outcome {
        let name = snapshot.name
        var recorded = snapshot.recorded ?? ServiceState(configuration: ServiceConfiguration(name: name))
        if snapshot.recorded == nil, case .held(let pid?) = snapshot.lock {
            // No record: the lock's holder wrote its own pid (checked by isExecMode).
            recorded.mode = .exec
            recorded.pid = pid
            recorded.pidStartTime = try ProcessTable.status(of: pid)?.startTime
        }
        try snapshot.checkPidfileNamesMain()
        let cleared = Leftovers.stop(recorded, plan: plan, holders: snapshot.lockHolders())
        guard cleared else { return Outcome(code: ExitCode.failure, error: "\(name): could not stop: processes of it are still running") }
        // Every process that held its lock is gone; the kernel lets go of a
        // lock as its last holder exits. A lock taken since is a new start's.
        guard let lock = try? PIDFile.acquire(at: snapshot.pidPath, pid: nil, waitForPID: .zero) else {
            return Outcome(code: ExitCode.success, output: Wording.stopped(name))
        }
        if snapshot.recorded != nil {
            recorded.phase = .stopped
            recorded.pid = nil
            try? recorded.write(paths.stateFile(name))
        }
        lock.release()
        return Outcome(code: ExitCode.success, output: Wording.stopped(name))
    }

    /// Refuses to act on pidfiles in a run dir others could plant files in.
    func checkRunDirectory() -> Outcome? {
        guard FileSystem.exists(paths.runDirectory) else { return nil }
        do {
            try ServicePaths.checkSafe(paths.runDirectory, what: "run dir")
            return nil
        } catch {
            return Outcome(code: ExitCode.of(error), error: "\(error)")
        }
    }

    // MARK: reload, signal

    /// Sends the service its reload signal (HUP unless configured otherwise).
    package func reload(_ name: ServiceName) -> Outcome {
        let recorded = try? ServiceState.read(paths.stateFile(name), name: name)
        return signal(name, recorded?.configuration.reloadSignal ?? .hangup, purpose: "its reload signal")
    }

    /// Sends `signal` to the service's main process, proven to be the
    /// service's (see `ServiceSnapshot.mainProcess`). Exit 3 when it is not
    /// running, 4 when it is another user's.
    package func signal(_ name: ServiceName, _ signal: ProcessSignal, purpose: String? = nil) -> Outcome {
        if let refused = checkRunDirectory() { return refused }
        do {
            let snapshot = try ServiceSnapshot.read(name, paths: paths)
            if case .untrusted(let holder) = snapshot.lock {
                return Outcome(code: ExitCode.failure, error: untrustedLock(snapshot, holder: holder))
            }
            guard let handle = try snapshot.mainProcess() else {
                return Outcome(code: ExitCode.notRunning, error: Wording.notRunning(name))
            }
            defer { handle.close() }
            try handle.send(signal)
            return Outcome(code: ExitCode.success, output: Wording.signalSent(name, signal, pid: handle.pid, purpose: purpose))
        } catch let error as SystemError where error.errno == .noSuchProcess {
            return Outcome(code: ExitCode.notRunning, error: Wording.notRunning(name))
        } catch {
            return Outcome(code: ExitCode.of(error), error: error is ServiceError ? "\(error)" : "\(name): \(error)")
        }
    }

    // MARK: restart

    /// Stops the service (if running) and starts it with `configuration`.
    package func restart(_ configuration: ServiceConfiguration) -> Outcome {
        let stopped = stop(configuration.name)
        guard stopped.code == ExitCode.success else { return stopped }
        var started = start(configuration)
        if started.code == ExitCode.success, let output = started.output {
            started.output = output.replacingAll(" started ", with: " restarted ")
        }
        return started
    }
}
