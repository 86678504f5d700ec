internal import Glibc

/// How the supervisor moves its `Lifecycle`: start, readiness, exit,
/// respawn, stop, and the end.
extension Supervisor {
    /// Starts the command. The first start is waited for (min-uptime or
    /// readiness); a respawn runs at once. A forking daemon's (`pidfile`)
    /// is waited for either way, until FILE names the process it left.
    func spawn(initial: Bool) {
        let now = Monotonic.now()
        // Every start counts against the start limit, the first one included.
        schedule.started(at: now)
        // What FILE held before the command ran is never taken for its word.
        let before = daemonPIDFile?.version()
        guard let pid = launch(initial: initial, now: now) else { return }
        if daemonPIDFile != nil {
            awaitDaemon(firstPID: pid, before: before, initial: initial, now: now)
            return
        }
        routine(Wording.started(configuration.name, pid: pid))
        guard initial else {
            lifecycle.phase = .running
            save()
            if replacement != nil { replacementLaunched(pid, now: now) }
            return
        }
        switch configuration.ready {
        case .exec where configuration.minUptime.nanoseconds == 0:
            reportReady()
        case .exec:
            lifecycle.phase = .starting(windowEnd: now + configuration.minUptime.nanoseconds, timeout: nil)
            save()
        case .notify, .descriptor:
            lifecycle.phase = .starting(windowEnd: nil, timeout: now + configuration.readyTimeout.nanoseconds)
            save()
        }
    }

    /// Launches the command as the main process and names it in the
    /// pidfile; nil when that failed (and was dealt with).
    private func launch(initial: Bool, now: Int64) -> pid_t? {
        do {
            let process = try launchInstance()
            main = try process.handle.duplicate()
            output.serviceStarted(pid: process.pid)
            mainStart = now
            heir = nil
            state.pid = process.pid
            do {
                try pidFile?.write(pid: process.pid)
            } catch {
                // A pidfile without the pid is a service nobody can find:
                // stop it and fail (the first start reports why).
                log.note("\(configuration.name): cannot write the pidfile: \(error)")
                failStart(initial: initial, "cannot write the pidfile: \(error)", code: ExitCode.failure)
                return nil
            }
            state.pidStartTime = ProcessTable.stat(of: process.pid)?.startTime
            state.serviceSince = WallClock.seconds()
            state.failure = nil
            return process.pid
        } catch let error as LaunchError {
            if !initial { log.note("\(configuration.name) could not be started: \(error)") }
            failStart(initial: initial, "\(error)", code: ExitCode.of(error))
        } catch {
            failStart(initial: initial, "\(error)", code: ExitCode.failure)
        }
        return nil
    }

    /// Launches the command once more: its own session, the service's
    /// output, the sockets, and a readiness hand-over of its own.
    func launchInstance() throws -> LaunchedProcess {
        let handover = try readiness.prepareLaunch()
        defer { handover.handOff?.close() }
        let launch = configuration.launchConfiguration(credentials: credentials, output: output.output, error: output.error,
                                                       notifySocket: handover.notifySocket, descriptors: handover.descriptors,
                                                       parentDeathSignal: configuration.stopSchedule.first, listeners: listeners)
        return try Launcher.launch(launch)
    }

    /// A start that went wrong: the first one fails; a respawn counts as an
    /// exit 127 (its launch failed) or stops the service (its pidfile).
    private func failStart(initial: Bool, _ reason: String, code: Int32) {
        if initial {
            startFailed(reason, code: code)
        } else if main != nil {
            state.failure = "failed: \(reason)"
            beginStop(after: afterFailure)
        } else {
            lastStatus = .exited(127)
            decideAfterExit(.exited(127), ranFor: 0)
        }
    }

    func respawn() {
        state.restarts += 1
        spawn(initial: false)
    }

    func reportReady() {
        lifecycle.phase = .running
        save()
        let pid = main?.pid ?? 0
        if configuration.ready != .exec { routine("\(configuration.name) is ready") }
        reporter.ready(Wording.started(configuration.name, pid: pid))
    }

    /// The first start failed: report it (with the last lines of the log)
    /// and stop whatever is left. With a watch, the supervisor then waits
    /// for a change, and the report goes out once nothing of it is left.
    func startFailed(_ reason: String, code: Int32) {
        output.relay()
        output.flushPartialLine()
        let lines = log.recentLines(10).filter { !$0.hasPrefix("swiftd: ") }.suffix(5)
        let report = (message: Wording.startFailure(configuration.name, reason: reason, lines: Array(lines)),
                      status: "\(configuration.name) " + Wording.failedToStart(reason), code: code)
        if watcher == nil {
            reporter.failed(report.message, status: report.status, code: report.code)
        } else {
            waitingReport = report
        }
        log.note("\(configuration.name) " + Wording.failedToStart(reason))
        state.failure = Wording.failedToStart(reason)
        failureCode = code
        beginStop(after: afterFailure)
    }

    /// What follows a failure once nothing of the service is left: with a
    /// watch, waiting for a change (nodemon's "waiting for file changes
    /// before starting"); without, the end.
    var afterFailure: Lifecycle.After { watcher == nil ? .exit(.failed) : .wait }

    /// Nothing of the failed service is left: wait for a change. A first
    /// start that failed is reported now (the start command exits 1 while
    /// the supervisor stays).
    func beginWaiting() {
        lifecycle.phase = .waiting
        save()
        log.note(Wording.waitingForChange(configuration.name))
        if let report = waitingReport {
            waitingReport = nil
            reporter.failed(report.message + "\n" + Wording.waitingForChange(configuration.name), status: report.status, code: report.code,
                            staying: true)
        }
    }

    func mainExited(_ status: ExitStatus) {
        let ranFor = Monotonic.now() - mainStart
        let exitedPID = main?.pid
        main?.close()
        main = nil
        watchdog = Watchdog()
        state.pid = nil
        if let start = daemonStart, start.firstPID == exitedPID {
            // A forking daemon's first process: exit 0 is its way of saying it
            // is in the background; anything else is a failed start.
            if status.isSuccess { return daemonCommandExited() }
            daemonStart = nil
        }
        lastStatus = status
        state.lastExit = status
        if let heir, heir != exitedPID, takeOver(heir, after: status) { return }
        if let successor = replacement?.successor {
            // The old instance ended while the new one starts: the new one is the service now.
            main = successor
            mainStart = replacement?.successorStart ?? mainStart
            replacement?.successor = nil
            state.pid = successor.pid
            state.pidStartTime = ProcessTable.stat(of: successor.pid)?.startTime
            state.newPID = nil
            try? pidFile?.write(pid: successor.pid)
            output.serviceStarted(pid: successor.pid)
            log.note("\(configuration.name): the old instance \(status); the new one (pid \(successor.pid)) takes over")
            save()
            return
        }
        if replacement?.startingPID == exitedPID { replacementFailed(replacement?.exitReason(status, now: Monotonic.now()) ?? "\(status)", exited: true) }
        output.relay()
        switch lifecycle.phase {
        case .starting:
            let left = status.isSuccess ? ProcessTree.settledDescendants(of: selfPID).count : 0
            if left > 0 {
                startFailed(Wording.daemonized("\(status)", left: left, supervised: true), code: ExitCode.failure)
            } else if status.isSuccess && reporter.isForeground && configuration.ready == .exec {
                // `swiftd run` of a job done within its start window (a cron
                // guard): it succeeded, it did not fail to start.
                lifecycle.phase = .running
                decideAfterExit(status, ranFor: ranFor)
            } else {
                startFailed("\(status)", code: ExitCode.failure)
            }
        case .stopping, .finished, .waiting:
            // Recorded when the stop completes (`finish`): one write, not two.
            break
        case .running, .backoff:
            if status.isSuccess { routine("\(configuration.name) \(status)") } else { log.note("\(configuration.name) \(status)") }
            decideAfterExit(status, ranFor: ranFor)
        }
    }

    /// A service that named another of its processes as its main one
    /// (MAINPID=) and exited hands over to it: no restart.
    private func takeOver(_ pid: pid_t, after status: ExitStatus) -> Bool {
        guard ProcessTable.stat(of: pid)?.parent == selfPID, let handle = try? ProcessHandle.open(pid: pid) else { return false }
        main = handle
        heir = nil
        output.serviceStarted(pid: pid)
        try? pidFile?.write(pid: pid)
        state.pid = pid
        state.pidStartTime = ProcessTable.stat(of: pid)?.startTime
        routine("\(configuration.name) \(status); its main process is now \(pid)")
        save()
        return true
    }

    func decideAfterExit(_ status: ExitStatus, ranFor: Int64) {
        switch schedule.decide(status, ranFor: ranFor, now: Monotonic.now()) {
        case .stop where !status.isSuccess && watcher != nil:
            // `restart = no`: it ended in failure; a change starts it again.
            state.failure = "\(status)"
            beginStop(after: .wait)
        case .stop:
            beginStop(after: .exit(.exited))
        case .respawn(let delay, let requested):
            if requested {
                log.note("restart requested (exit status \(configuration.restartExitCode ?? 0)): restarting now")
            } else {
                log.note(delay == 0 ? "restarting now" : "restarting in \(Interval(nanoseconds: delay))")
            }
            beginStop(after: .respawn(delay: delay))
        case .giveUp(let record):
            log.note(record)
            state.failure = record
            beginStop(after: afterFailure)
        }
    }

    /// When stopping and no child is left: do what comes next.
    func checkStopped() {
        guard case .stopping(_, let after) = lifecycle.phase else { return }
        guard !CurrentProcess.hasChildren else { return }
        switch after {
        case .exit(let final):
            finish(final)
        case .respawn(let delay) where delay <= 0:
            respawn()
        case .respawn(let delay):
            lifecycle.phase = .backoff(until: Monotonic.now() + delay)
            save()
        case .wait:
            beginWaiting()
        }
    }

    /// Records the end, releases the pidfile and exits: with the service's
    /// status in the foreground, 1 for a failure in the background.
    func finish(_ final: ServiceState.Phase) -> Never {
        output.relay()
        output.flushPartialLine()
        lifecycle.phase = .finished(final)
        state.pid = nil
        state.newPID = nil
        state.oldPID = nil
        state.droppedLines = output.droppedTotal
        save()
        CrashPoint.reach("finished-recorded")
        if let report = waitingReport {
            // Stopped before it could wait: the start failed all the same.
            reporter.failed(report.message, status: report.status, code: report.code)
        }
        reporter.failed("\(configuration.name) stopped during startup", status: "stopped", code: ExitCode.failure)
        for socket in sockets { socket.close() }
        pidFile?.release()
        // Output still held back for a full descriptor gets a second, no more.
        output.log.drainBacklog(timeoutMilliseconds: 1000)
        if reporter.isForeground {
            if final == .failed && lastStatus == nil { CurrentProcess.exit(failureCode) }
            CurrentProcess.exit(lastStatus?.shellStatus ?? 0)
        }
        CurrentProcess.exit(final == .failed ? 1 : 0)
    }
}
