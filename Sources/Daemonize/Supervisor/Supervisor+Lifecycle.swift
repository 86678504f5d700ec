internal import Glibc

/// How the supervisor moves its `Lifecycle`: start, readiness, exit,
/// respawn, stop, and the end.
extension Supervisor {
    /// Starts the command. The first start is waited for (min-uptime or
    /// readiness); a respawn runs at once.
    func spawn(initial: Bool) {
        let now = Monotonic.now()
        do {
            let handover = try readiness.prepareLaunch()
            defer { handover.handOff?.close() }
            let launch = configuration.launchConfiguration(credentials: credentials, output: output.output, error: output.error,
                                                           notifySocket: handover.notifySocket, descriptors: handover.descriptors,
                                                           parentDeathSignal: configuration.stopSignal)
            let process = try Launcher.launch(launch)
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
                return
            }
            state.pidStartTime = ProcessTable.stat(of: process.pid)?.startTime
            state.serviceSince = WallClock.seconds()
            state.failure = nil
            log.note(Wording.started(configuration.name, pid: process.pid))
        } catch let error as LaunchError {
            if !initial { log.note("\(configuration.name) could not be started: \(error)") }
            failStart(initial: initial, "\(error)", code: ExitCode.of(error))
            return
        } catch {
            failStart(initial: initial, "\(error)", code: ExitCode.failure)
            return
        }
        guard initial else {
            lifecycle.phase = .running
            save()
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

    /// A start that went wrong: the first one fails; a respawn counts as an
    /// exit 127 (its launch failed) or stops the service (its pidfile).
    private func failStart(initial: Bool, _ reason: String, code: Int32) {
        if initial {
            startFailed(reason, code: code)
        } else if main != nil {
            state.failure = "failed: \(reason)"
            beginStop(after: .exit(.failed))
        } else {
            lastStatus = .exited(127)
            decideAfterExit(.exited(127), ranFor: 0)
        }
    }

    func respawn() {
        state.restarts += 1
        schedule.started(at: Monotonic.now())
        spawn(initial: false)
    }

    func reportReady() {
        lifecycle.phase = .running
        save()
        let pid = main?.pid ?? 0
        if configuration.ready != .exec { log.note("\(configuration.name) is ready") }
        reporter.ready(Wording.started(configuration.name, pid: pid))
    }

    /// The first start failed: report it (with the last lines of the log)
    /// and stop whatever is left.
    func startFailed(_ reason: String, code: Int32) {
        output.relay()
        output.flushPartialLine()
        let lines = log.recentLines(10).filter { !$0.hasPrefix("swiftd: ") }.suffix(5)
        reporter.failed(Wording.startFailure(configuration.name, reason: reason, lines: Array(lines)),
                        status: "\(configuration.name) " + Wording.failedToStart(reason), code: code)
        log.note("\(configuration.name) " + Wording.failedToStart(reason))
        state.failure = Wording.failedToStart(reason)
        failureCode = code
        beginStop(after: .exit(.failed))
    }

    func mainExited(_ status: ExitStatus) {
        let ranFor = Monotonic.now() - mainStart
        let exitedPID = main?.pid
        main?.close()
        main = nil
        watchdog = Watchdog()
        lastStatus = status
        state.lastExit = status
        state.pid = nil
        if let heir, heir != exitedPID, takeOver(heir, after: status) { return }
        output.relay()
        switch lifecycle.phase {
        case .starting:
            let left = status.isSuccess ? ProcessTree.descendants(of: selfPID).count : 0
            startFailed(left > 0 ? Wording.daemonized("\(status)", left: left) : "\(status)", code: ExitCode.failure)
        case .stopping, .finished:
            // Recorded when the stop completes (`finish`): one write, not two.
            break
        case .running, .backoff:
            log.note("\(configuration.name) \(status)")
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
        log.note("\(configuration.name) \(status); its main process is now \(pid)")
        save()
        return true
    }

    func decideAfterExit(_ status: ExitStatus, ranFor: Int64) {
        switch schedule.decide(status, ranFor: ranFor, now: Monotonic.now()) {
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
            beginStop(after: .exit(.failed))
        }
    }

    /// A stop was asked for (SIGTERM, SIGINT, or `swiftd stop`).
    func requestStop(signal: ProcessSignal?, timeout: Interval?) {
        if let signal { stopSignal = signal }
        if let timeout { stopTimeout = timeout }
        switch lifecycle.phase {
        case .backoff:
            finish(.stopped)
        case .stopping(let killAt, _):
            lifecycle.phase = .stopping(killAt: killAt, after: .exit(.stopped))
            save()
        case .starting:
            reporter.failed("\(configuration.name) was stopped before it was ready", status: "stopped", code: ExitCode.failure)
            beginStop(after: .exit(.stopped))
        case .running:
            log.note("stopping \(configuration.name)")
            reporter.stopping()
            beginStop(after: .exit(.stopped))
        case .finished:
            break
        }
    }

    /// Sends the stop signal to every process of the service (SIGKILL follows
    /// at the timeout), then waits until none is left.
    func beginStop(after: Lifecycle.After) {
        lifecycle.phase = .stopping(killAt: Monotonic.now() + stopTimeout.nanoseconds, after: after)
        if case .exit = after { save() }
        signalled = []
        if let main {
            try? main.send(stopSignal)
            try? main.send(.continue)
            signalled.insert(main.pid)
        }
        signalled.formUnion(ProcessTree.signalDescendants(of: selfPID, stopSignal, skip: signalled))
        checkStopped()
    }

    /// At the stop timeout: SIGKILL to everything left.
    func killRemaining() {
        guard case .stopping(_, let after) = lifecycle.phase else { return }
        log.note("\(configuration.name) did not stop within \(stopTimeout): sending KILL")
        lifecycle.phase = .stopping(killAt: nil, after: after)
        forward(.kill)
        ProcessTree.signalDescendants(of: selfPID, .kill)
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
        }
    }

    /// Records the end, releases the pidfile and exits: with the service's
    /// status in the foreground, 1 for a failure in the background.
    func finish(_ final: ServiceState.Phase) -> Never {
        output.relay()
        output.flushPartialLine()
        lifecycle.phase = .finished(final)
        state.pid = nil
        state.droppedLines = output.droppedTotal
        save()
        reporter.failed("\(configuration.name) stopped during startup", status: "stopped", code: ExitCode.failure)
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
