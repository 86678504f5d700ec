internal import Glibc

/// What the supervisor does with each event its loop hands it: signals,
/// children that exit, what the service reports, watched files that change.
extension Supervisor {
    /// Log lines dropped since the last record are recorded.
    func recordDroppedLines() {
        guard output.droppedTotal != state.droppedLines else { return }
        state.droppedLines = output.droppedTotal
        save()
    }

    /// A sender counts when it is the service's main process or one of the
    /// supervisor's descendants (the service's processes, whatever their group).
    func isService(_ sender: pid_t) -> Bool {
        sender != selfPID && (sender == main?.pid || ProcessTree.isDescendant(sender, of: selfPID))
    }

    func handleReadiness(_ events: [(event: ReadinessWatcher.Event, sender: pid_t?)]) {
        for (event, sender) in events {
            if replacementReadiness(event, from: sender) { continue }
            // A retiring instance is no longer the service.
            if let sender, let session = ProcessTable.stat(of: sender)?.session, retirements.contains(where: { $0.session == session }) { continue }
            switch event {
            case .status(let text):
                state.statusText = text
                if statusSaveDue == nil { statusSaveDue = Monotonic.now() + Supervisor.statusSaveInterval }
                reporter.status(text)
            case .mainPID(let pid):
                if pid != selfPID, ProcessTree.isDescendant(pid, of: selfPID) { heir = pid }
            case .failed(let reason):
                if lifecycle.isStarting { startFailed(reason, code: ExitCode.failure) }
            case .ready:
                if lifecycle.isStarting { reportReady() }
                armWatchdog()
            case .watchdog(let trigger):
                if trigger { watchdogExpired() } else { armWatchdog() }
            }
        }
    }

    /// Every signal is also a moment to see whether the pidfile is still
    /// there (no watch on it: an inotify instance makes the process's exit
    /// wait for a grace period, and a stop with it).
    func handleSignals() {
        defer { restorePidfile() }
        while let delivery = signals.next() {
            switch delivery.signal {
            case .child:
                reapChildren()
            case .terminate, .interrupt:
                var overrides = delivery.value.map(StopRequest.decode)
                // In the foreground (swiftd run, as PID 1 or under a terminal),
                // INT reaches the service as INT, as tini and dumb-init pass it on.
                if delivery.signal == .interrupt, reporter.isForeground, overrides == nil { overrides = (.interrupt, nil) }
                requestStop(signal: overrides?.signal, timeout: overrides?.timeout)
            case .hangup:
                forward(reporter.isForeground ? .hangup : configuration.reloadSignal)
            case .user2 where delivery.value == Supervisor.restorePidfileRequest:
                break
            case .user2 where delivery.value == Supervisor.reopenLogRequest:
                reopenLog()
            case .user2 where delivery.value == Supervisor.restartRequest:
                requestReplacement("restart asked for")
            case .user2:
                if reporter.isForeground { forward(.user2) } else { output.reopen() }
            default:
                forward(delivery.signal)
            }
        }
    }

    /// Reopens the log (or reconnects to syslog) and records that it did,
    /// which `swiftd reopen` waits for.
    func reopenLog() {
        output.reopen()
        state.logReopens += 1
        save()
    }

    /// Puts the pidfile back if it was removed or renamed away (an
    /// administrator, a /tmp cleaner): locked before it appears, naming the
    /// running main process. Meanwhile commands find the service by its record.
    func restorePidfile() {
        guard let pidFile, pidFile.isUnlinked else { return }
        do {
            // The run dir is checked again, as at the start, and the pidfile
            // put back through that very directory: one another user renamed
            // away and replaced after the start gets nothing.
            let directory = try paths.map { try Directory.openTrusted($0.runDirectory, what: "run dir") }
            defer { directory?.close() }
            if try pidFile.restore(pid: main?.pid, in: directory) { log.note("\(pidFile.path) was removed: put back") }
        } catch {
            log.note("\(pidFile.path) was removed and could not be put back: \(error)")
        }
    }

    func forward(_ signal: ProcessSignal) {
        try? main?.send(signal)
    }

    /// Reaps every exited child. The service's own pid is cleared from the
    /// pidfile before it is reaped, so that the file never names a pid that
    /// could already belong to another process.
    func reapChildren() {
        while let pid = CurrentProcess.exitedChild() {
            let isMain = pid == main?.pid
            if isMain { try? pidFile?.write(pid: nil) }
            guard let status = CurrentProcess.reap(pid) else { break }
            if isMain {
                mainExited(status)
            } else if pid == replacement?.successor?.pid {
                replacementFailed(replacement?.exitReason(status, now: Monotonic.now()) ?? "\(status)", exited: true)
            } else {
                _ = retirementReaped(pid)
            }
        }
        checkRetirements()
        // Orphans adopted since the step began get the same treatment.
        if lifecycle.isStopping { signalAdopted() }
        // A forking daemon whose parent just exited may now be this supervisor's child.
        if daemonStart?.firstPID == nil, daemonStart != nil { checkDaemonPIDFile(now: Monotonic.now()) }
        checkStopped()
    }

    func watchedChange() {
        if lifecycle.phase == .waiting {
            // It failed: the change is the fix, perhaps (nodemon's way).
            if restartsInPlace { return requestReplacement("watched files changed") }
            log.note("watched files changed: starting \(configuration.name) again")
            respawn()
            return
        }
        guard main != nil else { return }
        switch configuration.watchAction {
        case .reload:
            log.note("watched files changed: sending \(configuration.reloadSignal.name)")
            forward(configuration.reloadSignal)
        case .restart where restartsInPlace:
            requestReplacement("watched files changed")
        case .restart:
            guard lifecycle.phase == .running else { return }
            log.note("watched files changed: restarting \(configuration.name)")
            beginStop(after: .respawn(delay: 0))
        }
    }
}
