internal import Glibc

extension ServiceController {
    // MARK: stop

    /// Stops the service: asks its supervisor (which stops every process of
    /// it) or, in exec mode, signals its processes itself; returns once
    /// nothing of the service is left. Only a process proven to be the
    /// service's is ever signalled; a lock held by anything else (another
    /// command clearing up) is waited for, never signalled.
    package func stop(_ name: ServiceName, signal: ProcessSignal? = nil, timeout: Interval? = nil) -> Outcome {
        var progress = beginStop(name, signal: signal, timeout: timeout)
        while true {
            switch progress {
            case .done(let outcome):
                return outcome
            case .waiting(let pending):
                progress = advance(pending, exited: pending.supervisor.waitForExit(timeoutMilliseconds: Monotonic.millisecondsUntil(pending.deadline)))
            case .wouldWait:
                preconditionFailure("a stop allowed to wait does not say it would")
            }
        }
    }

    /// The first part of `stop`: a supervised service's supervisor is asked to
    /// stop it, and the stop then waits for its exit (`advance`); anything
    /// else is done here. With `mayWait` false, a stop that would have to
    /// wait here instead (see `StopProgress.wouldWait`) is not begun.
    package func beginStop(_ name: ServiceName, signal: ProcessSignal? = nil, timeout: Interval? = nil, mayWait: Bool = true) -> StopProgress {
        if let refused = checkRunDirectory() { return .done(refused) }
        let started = Monotonic.now()
        var pause: Int64 = 1_000_000
        do {
            while true {
                let snapshot = try ServiceSnapshot.read(name, paths: paths)
                let configured = snapshot.recorded?.configuration ?? ServiceConfiguration(name: name)
                let plan = StopRequest.plan(configured, signal: signal, timeout: timeout)
                if snapshot.isExecMode {
                    if try snapshot.isRunning() {
                        return mayWait ? .done(try stopExec(snapshot, plan: plan)) : .wouldWait
                    }
                } else if let supervisor = try snapshot.supervisor() {
                    return askSupervisor(name, supervisor: supervisor, signal: signal, timeout: timeout, plan: plan)
                }
                switch snapshot.lock {
                case .held:
                    guard mayWait else { return .wouldWait }
                    // Held by no supervisor we know: a command clearing what a
                    // dead instance left, or a new supervisor about to record
                    // itself (without any record, only briefly).
                    let patience = snapshot.recorded == nil ? 2_000_000_000 : plan.total.nanoseconds + 30_000_000_000
                    if Monotonic.now() - started >= patience {
                        return .done(Outcome(code: ExitCode.failure, error: "\(name): could not stop: \(snapshot.pidPath) is locked by a process that is not its supervisor (refused)"))
                    }
                    Monotonic.sleep(nanoseconds: pause)
                    pause = min(pause * 2, 20_000_000)
                    continue
                case .untrusted(let holder):
                    return .done(Outcome(code: ExitCode.failure, error: untrustedLock(snapshot, holder: holder)))
                case .absent, .free:
                    switch stopDead(name, plan: plan, mayWait: mayWait) {
                    case .wouldWait: return .wouldWait
                    case .done(let outcome): return .done(outcome)
                    case .lookAgain: continue
                    }
                }
            }
        } catch {
            return .done(Outcome(code: ExitCode.of(error), error: error is ServiceError ? "\(error)" : "\(name): \(error)"))
        }
    }

    /// Takes a stop on: `exited` says whether its supervisor has exited (else
    /// its deadline passed). A supervisor past its time is killed (its
    /// service gets its parent-death signal, and whatever is left is stopped
    /// once it is gone) and waited for a while more.
    package func advance(_ pending: PendingStop, exited: Bool) -> StopProgress {
        if !exited && !pending.killed {
            try? pending.supervisor.send(.kill)
            return .waiting(PendingStop(name: pending.name, supervisor: pending.supervisor, plan: pending.plan,
                                        deadline: Monotonic.now() + PendingStop.afterKill, killed: true))
        }
        defer { pending.supervisor.close() }
        return .done(afterSupervisor(pending.name, supervisor: pending.supervisor.pid, killed: pending.killed, plan: pending.plan))
    }

    /// Not running: clears a stale pidfile and whatever a dead supervisor
    /// left, holding the pidfile's lock the while (see `clearLeftovers`); a
    /// service started meanwhile holds it, and is then left alone.
    /// `.lookAgain` when the record under the lock names an instance that
    /// still runs.
    private func stopDead(_ name: ServiceName, plan: StopPlan, mayWait: Bool) -> DeadStop {
        guard let lock = try? PIDFile.acquire(at: paths.pidFile(name), pid: nil, waitForPID: .zero) else {
            return .done(Outcome(code: ExitCode.success, output: Wording.notRunning(name)))
        }
        defer { lock.release() }
        CrashPoint.reach("clearing-leftovers")
        var leftovers = 0
        var leftAlone: [pid_t] = []
        if var recorded = try? ServiceState.read(paths.stateFile(name), name: name) {
            do {
                if try recorded.liveInstance() != nil { return .lookAgain }
            } catch {
                return .done(Outcome(code: ExitCode.of(error), error: "\(name): \(error)"))
            }
            leftovers = Leftovers.find(recorded).count
            if leftovers > 0 {
                guard mayWait else { return .wouldWait }
                Leftovers.stop(recorded, plan: plan)
            }
            leftAlone = Leftovers.unproven(recorded)
            if recorded.isActive {
                recorded.phase = .stopped
                recorded.pid = nil
                try? recorded.write(paths.stateFile(name))
            }
        }
        let warning = Wording.leftAlone(name, leftAlone)
        if leftovers > 0 {
            let detail = "\(leftovers) leftover process\(leftovers == 1 ? "" : "es") of a dead supervisor"
            return .done(Outcome(code: ExitCode.success, output: Wording.stopped(name, detail), error: warning))
        }
        return .done(Outcome(code: ExitCode.success, output: Wording.notRunning(name), error: warning))
    }

    private enum DeadStop { case done(Outcome), lookAgain, wouldWait }

    /// Sends the supervisor the stop (with the overrides); the supervisor
    /// exits only once every process of the service is gone, and its exit
    /// releases the lock. Its pidfd says so at once.
    private func askSupervisor(_ name: ServiceName, supervisor: ProcessHandle, signal: ProcessSignal?, timeout: Interval?, plan: StopPlan) -> StopProgress {
        do {
            if let value = StopRequest.encode(signal: signal, timeout: timeout) {
                try supervisor.send(.terminate, value: value)
            } else {
                try supervisor.send(.terminate)
            }
        } catch let error as SystemError where error.errno == .noSuchProcess {
            // It died just now: see, once it is waited for, what it left.
        } catch let error as SystemError {
            supervisor.close()
            return .done(Outcome(code: ExitCode.forStart(error.errno), error: "\(name): cannot signal its supervisor: \(error.errno)"))
        } catch {
            supervisor.close()
            return .done(Outcome(code: ExitCode.failure, error: "\(name): \(error)"))
        }
        return .waiting(PendingStop(name: name, supervisor: supervisor, plan: plan,
                                    deadline: Monotonic.now() + plan.total.nanoseconds + PendingStop.grace, killed: false))
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
        var warning: String?
        if var recorded = try? ServiceState.read(paths.stateFile(name), name: name), recorded.supervisorPID == supervisor {
            left = Leftovers.find(recorded).count
            cleared = Leftovers.stop(recorded, plan: killed ? .kill : plan)
            warning = Wording.leftAlone(name, Leftovers.unproven(recorded))
            if recorded.isActive {
                recorded.phase = .stopped
                recorded.pid = nil
                try? recorded.write(paths.stateFile(name))
            }
        }
        if !cleared { return Outcome(code: ExitCode.failure, error: "\(name): could not stop: processes of it are still running") }
        if killed { return Outcome(code: ExitCode.success, output: Wording.stopped(name, "its supervisor did not answer and was killed"), error: warning) }
        let detail = left > 0 ? "; \(left) process\(left == 1 ? "" : "es") of it stopped" : ""
        return Outcome(code: ExitCode.success, output: Wording.stopped(name, "its supervisor died during the stop\(detail)"), error: warning)
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
        let holders = snapshot.lockHolders()
        let cleared = Leftovers.stop(recorded, plan: plan, holders: holders)
        guard cleared else { return Outcome(code: ExitCode.failure, error: "\(name): could not stop: processes of it are still running") }
        let warning = Wording.leftAlone(name, Leftovers.unproven(recorded, holders: holders))
        // Every process that held its lock is gone; the kernel lets go of a
        // lock as its last holder exits. A lock taken since is a new start's.
        guard let lock = try? PIDFile.acquire(at: snapshot.pidPath, pid: nil, waitForPID: .zero) else {
            return Outcome(code: ExitCode.success, output: Wording.stopped(name), error: warning)
        }
        if snapshot.recorded != nil {
            recorded.phase = .stopped
            recorded.pid = nil
            try? recorded.write(paths.stateFile(name))
        }
        lock.release()
        return Outcome(code: ExitCode.success, output: Wording.stopped(name), error: warning)
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
}
