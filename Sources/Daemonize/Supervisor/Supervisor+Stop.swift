internal import Glibc

/// How the supervisor stops its service: the stop plan (`StopRequest.plan`:
/// the configured schedule with the overrides of `swiftd stop`) followed
/// step by step, until no process of the service is left.
extension Supervisor {
    /// A stop was asked for (SIGTERM, SIGINT, or `swiftd stop`), with the
    /// overrides it carries.
    func requestStop(signal: ProcessSignal?, timeout: Interval?) {
        if signal != nil || timeout != nil { stopOverrides = (signal, timeout) }
        if let successor = replacement?.successor {
            retire(successor, exited: false)
            replacement?.successor = nil
        }
        if replacement != nil {
            replacementPending = false
            endReplacement(failure: "\(configuration.name) was stopped")
        }
        switch lifecycle.phase {
        case .backoff, .waiting:
            finish(.stopped)
        case .stopping(let nextStepAt, _):
            lifecycle.phase = .stopping(nextStepAt: nextStepAt, after: .exit(.stopped))
            save()
        case .starting:
            reporter.failed("\(configuration.name) was stopped before it was ready", status: "stopped", code: ExitCode.failure)
            beginStop(after: .exit(.stopped))
        case .running:
            routine("stopping \(configuration.name)")
            reporter.stopping()
            beginStop(after: .exit(.stopped))
        case .finished:
            break
        }
    }

    /// Sends the plan's first signal (to the main process, or to every
    /// process of the service), then waits until none is left, moving to
    /// the next step when one is due.
    func beginStop(after: Lifecycle.After) {
        daemonStart = nil
        stopPlan = StopRequest.plan(configuration, signal: stopOverrides.signal, timeout: stopOverrides.timeout)
        // Without a main process (between a forking daemon's start and its pidfile), the first signal is for everyone.
        if main == nil { stopPlan.steps[0].everyone = true }
        stopStep = 0
        signalled = []
        lifecycle.phase = .stopping(nextStepAt: dueTime(of: stopPlan.steps[0]), after: after)
        if case .exit = after { save() }
        sendStopStep()
        checkStopped()
    }

    /// The step's signal to whoever it is for and has not had it yet: the
    /// main process, and with a step for everyone every descendant of the
    /// supervisor.
    func sendStopStep() {
        send(stopPlan.steps[stopStep], to: main, signalled: &signalled)
    }

    /// Sends `step`'s signal to `main` unless it had it and, for a step for
    /// everyone, to every descendant of the supervisor (in `session` when one
    /// is given: an instance being retired) that has not had it.
    func send(_ step: StopPlan.Step, to main: ProcessHandle?, session: pid_t? = nil, signalled: inout Set<pid_t>) {
        if let main, !signalled.contains(main.pid) {
            try? main.send(step.signal)
            if step.signal != .kill { try? main.send(.continue) }
            signalled.insert(main.pid)
        }
        guard step.everyone else { return }
        // KILL goes to all of them again: a process that got it may still be dying.
        let skip = step.signal == .kill ? [] : signalled
        signalled.formUnion(ProcessTree.signalDescendants(of: selfPID, step.signal, skip: skip, session: session))
    }

    /// Orphans adopted since the step began (their parent exited: this
    /// supervisor, their subreaper, is their parent now) get its signal too.
    /// Only its own children are read: the tree was walked as the step began
    /// (`send`), and walking it again at every exit would make a stop of N
    /// processes read N trees. A process forked since by one that is still
    /// alive gets the step's signal once adopted, or the next step's.
    func signalAdopted() {
        let step = stopPlan.steps[stopStep]
        guard step.everyone else { return }
        signalled.formUnion(ProcessTree.signalChildren(of: selfPID, step.signal, skip: signalled))
    }

    /// The service outlived a step's wait: the next step.
    func nextStopStep() {
        guard case .stopping(_, let after) = lifecycle.phase, stopStep + 1 < stopPlan.steps.count else { return }
        let waited = stopPlan.steps[stopStep].wait ?? .zero
        stopStep += 1
        signalled = []
        let step = stopPlan.steps[stopStep]
        log.note("\(configuration.name) did not stop within \(waited): sending \(step.signal.name)")
        lifecycle.phase = .stopping(nextStepAt: dueTime(of: step), after: after)
        sendStopStep()
    }

    private func dueTime(of step: StopPlan.Step) -> Int64? {
        step.wait.map { Monotonic.now() + $0.nanoseconds }
    }
}
