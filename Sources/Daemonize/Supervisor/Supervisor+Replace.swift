internal import Glibc

/// Restarts in place: a service with `listen` sockets or `restart-mode =
/// overlap` is restarted by its supervisor, which stays (with its pidfile and
/// its sockets, so that no connection is refused meanwhile). `swiftd
/// restart` asks for one (a queued SIGUSR2 with `restartRequest`) and waits
/// for `restartsEnded` to reach the one it asked for; a watched change asks
/// too. One runs at a time; a request that comes meanwhile runs after it.
extension Supervisor {
    /// A restart of this service happens in place.
    var restartsInPlace: Bool { !configuration.listen.isEmpty || configuration.restartMode == .overlap }

    /// A restart was asked for (`why` goes to the log).
    func requestReplacement(_ why: String) {
        if replacement != nil {
            replacementPending = true
            return
        }
        switch lifecycle.phase {
        case .starting:
            // The first start is not over: `restart` asks again until it is.
            return
        case .stopping(_, .exit), .finished:
            state.restartsBegun += 1
            endReplacement(failure: "\(configuration.name) is stopping")
            return
        case .running, .backoff, .waiting, .stopping(_, .respawn), .stopping(_, .wait):
            break
        }
        state.restartsBegun += 1
        // As a restart by stop and start would: /etc/default/NAME edited meanwhile counts,
        // and what is found wrong (a missing env file, command or chroot) stops nothing.
        do {
            _ = try configuration.checkBeforeStart()
        } catch {
            endReplacement(failure: (error as? ConfigurationError)?.message ?? "\(error)")
            return
        }
        let overlap = configuration.restartMode == .overlap && main != nil && lifecycle.phase == .running
        log.note("\(why): restarting \(configuration.name)" + (overlap ? " (the old instance serves until the new one is ready)" : ""))
        if overlap {
            launchSuccessor()
            return
        }
        replacement = Replacement(stage: .stopping)
        switch lifecycle.phase {
        case .running: beginStop(after: .respawn(delay: 0))
        case .backoff, .waiting: respawn()
        case .stopping(let next, .wait):
            // It failed and is being stopped: started again once it is.
            lifecycle.phase = .stopping(nextStepAt: next, after: .respawn(delay: 0))
            save()
        default: save()
        }
    }

    /// stop-first: the new instance runs as the main process; wait for it.
    func replacementLaunched(_ pid: pid_t, now: Int64) {
        replacement?.stage = Replacement.starting(pid, configuration, now: now)
        if configuration.ready == .exec && configuration.minUptime.nanoseconds == 0 { replacementReady() }
    }

    /// The new instance is ready (said so, or survived its start window).
    /// With overlap it must then stay up for `settle` (a server whose master
    /// says ready before its workers load the code, as gunicorn's does, dies
    /// meanwhile on a broken app); the old instance serves until then.
    func replacementReady() {
        guard case .starting(let pid, _, _)? = replacement?.stage else { return }
        guard configuration.restartMode == .overlap, configuration.settle.nanoseconds > 0 else { return replacementSettled() }
        let now = Monotonic.now()
        replacement?.stage = .settling(pid: pid, readyAt: now, until: now + configuration.settle.nanoseconds)
        routine("\(configuration.name): new instance (pid \(pid)) ready; it takes over if it is still up in \(configuration.settle)")
    }

    /// The new instance proved itself: it takes over.
    private func replacementSettled() {
        if replacement?.successor != nil { promoteSuccessor() } else { endReplacement(failure: nil) }
    }

    /// overlap: starts the new instance beside the main process.
    private func launchSuccessor() {
        let now = Monotonic.now()
        do {
            let process = try launchInstance()
            let handle = try process.handle.duplicate()
            replacement = Replacement(stage: Replacement.starting(handle.pid, configuration, now: now), successor: handle, successorStart: now)
            state.newPID = handle.pid
            routine("\(configuration.name): new instance started (pid \(handle.pid))")
            save()
            if configuration.ready == .exec && configuration.minUptime.nanoseconds == 0 { replacementReady() }
        } catch {
            endReplacement(failure: "the new instance could not be started: \(error)")
        }
    }

    /// The new instance is ready: it becomes the main process, the old one is retired.
    func promoteSuccessor() {
        guard let successor = replacement?.successor else { return }
        if let old = main { retire(old, exited: false) }
        main = successor
        mainStart = replacement?.successorStart ?? Monotonic.now()
        heir = nil
        watchdog = Watchdog()
        output.serviceStarted(pid: successor.pid)
        try? pidFile?.write(pid: successor.pid)
        state.pid = successor.pid
        state.pidStartTime = ProcessTable.stat(of: successor.pid)?.startTime
        state.serviceSince = WallClock.seconds()
        state.restarts += 1
        replacement?.successor = nil
        endReplacement(failure: nil)
    }

    /// The new instance failed (exited, said ERRNO=, or was not ready in
    /// time). overlap: it is retired and the old one goes on; stop-first:
    /// the service stops, as a start that fails.
    func replacementFailed(_ reason: String, exited: Bool) {
        guard let replacement else { return }
        if let successor = replacement.successor {
            retire(successor, exited: exited)
            self.replacement?.successor = nil
            endReplacement(failure: "the new instance \(reason); the old one (pid \(main.map { "\($0.pid)" } ?? "?")) still serves")
        } else {
            endReplacement(failure: "the new instance \(reason)")
            if !exited {
                state.failure = Wording.failedToStart(reason)
                beginStop(after: afterFailure)
            }
        }
    }

    /// Records the outcome `restart` waits for; starts a restart asked for meanwhile.
    func endReplacement(failure: String?) {
        replacement = nil
        state.restartsEnded = state.restartsBegun
        state.restartFailure = failure
        state.newPID = nil
        if let failure {
            log.note("\(configuration.name): restart failed: \(failure)")
        } else {
            routine("\(configuration.name) restarted (pid \(main.map { "\($0.pid)" } ?? "?"))")
        }
        save()
        if replacementPending {
            replacementPending = false
            requestReplacement("a restart asked for meanwhile")
        }
    }

    /// A readiness event from the instance being waited for; false when it is not from it.
    func replacementReadiness(_ event: ReadinessWatcher.Event, from sender: pid_t?) -> Bool {
        guard let pid = replacement?.startingPID else { return false }
        // A pipe event is the latest launch's: the new instance.
        if let sender, sender != pid, ProcessTable.stat(of: sender)?.session != pid { return false }
        switch event {
        case .ready:
            replacementReady()
        case .failed(let reason):
            replacementFailed(reason, exited: false)
        case .status, .mainPID, .watchdog:
            // The old instance is the service until the new one is ready.
            if replacement?.successor == nil { return false }
        }
        return true
    }

    /// Its window passed (ready) or its timeout (failed).
    func replacementDue(now: Int64) {
        if case .settling? = replacement?.stage { return replacementSettled() }
        guard case .starting(_, let window, _)? = replacement?.stage else { return }
        if window != nil {
            replacementReady()
        } else {
            replacementFailed("was not ready after \(configuration.readyTimeout)", exited: false)
        }
    }
}
