internal import Glibc

/// The resident swiftd: holds the service's pidfile lock, runs the command in
/// its own session, relays its output into the log, respawns it by policy,
/// waits for its readiness, and stops it (stop signal to every process of it,
/// SIGKILL after the timeout) on SIGTERM. A child subreaper: grandchildren
/// that left the service's process group are still its to reap and to stop.
///
/// It is an event loop (this file) around a `Lifecycle` (the only phase;
/// `Supervisor+Lifecycle.swift` moves it) fed by events
/// (`Supervisor+Events.swift`). The loop sleeps in `poll` with no timeout
/// unless something is due: a quiet service costs no wake-ups.
public final class Supervisor {
    /// Where the supervisor runs.
    package enum Role {
        /// Detached (`swiftd start`): reports the start through the daemon's channel.
        case background(Daemon)
        /// In the foreground (`swiftd run`): output to its own streams, exit with the service's status.
        case foreground
    }

    /// What the loop waits on.
    enum Source {
        case signals, output(FileDescriptor, writable: Bool), readiness(FileDescriptor), watcher
    }

    /// The payload of a queued SIGUSR2 that asks the supervisor to put its
    /// pidfile back (a command found it removed); a plain SIGUSR2 reopens the
    /// log in the background, and is passed on to the service by `swiftd run`.
    package static let restorePidfileRequest: Int64 = 1
    /// The payload of a queued SIGUSR2 that asks the supervisor to reopen its
    /// log (`swiftd reopen`), in the background or the foreground; it says it
    /// did by recording one more `logReopens`.
    package static let reopenLogRequest: Int64 = 2
    /// The payload of a queued SIGUSR2 that asks for a restart in place
    /// (`swiftd restart` of a service with `listen` or `restart-mode =
    /// overlap`); it records `restartsBegun` and `restartsEnded`.
    package static let restartRequest: Int64 = 3

    /// A STATUS= text is recorded at most this often, however often the service sends one.
    static let statusSaveInterval: Int64 = 100_000_000

    /// What it runs; only its environment files are read again (at each restart in place).
    var configuration: ServiceConfiguration
    /// swiftd's directories; nil under the library's `run`: no state file.
    let paths: ServicePaths?
    let pidFile: PIDFile?
    let selfPID = CurrentProcess.id
    let reporter: StartReporter
    let credentials: Credentials?
    let output: ServiceOutput
    let signals: SignalWatcher
    let readiness: ReadinessWatcher
    let watcher: FileWatcher?
    var lifecycle = Lifecycle()
    /// The record, but for its phase (the lifecycle's).
    var state: ServiceState
    var schedule: RestartSchedule
    var trim = IdleTrim()
    /// The service's main process, when one runs.
    var main: ProcessHandle?
    var mainStart: Int64 = 0
    /// A process the service named as its main one (MAINPID=), which takes over when it exits.
    var heir: pid_t?
    /// The stop under way: its plan, the step reached, and the processes
    /// already sent that step's signal.
    var stopPlan = StopPlan.kill
    var stopStep = 0
    var signalled: Set<pid_t> = []
    /// What `swiftd stop --signal --timeout` asked for, applied to every stop from then on.
    var stopOverrides: (signal: ProcessSignal?, timeout: Interval?) = (nil, nil)
    var lastStatus: ExitStatus?
    var failureCode: Int32 = ExitCode.failure
    /// When a STATUS= text not yet recorded is due to be.
    var statusSaveDue: Int64?
    /// The watchdog: when the service is late with WATCHDOG=1, and when a
    /// main process killed for it gets SIGKILL.
    var watchdog = Watchdog()
    /// The pidfile a forking daemon writes (`pidfile`), and its start under way.
    let daemonPIDFile: DaemonPIDFile?
    var daemonStart: DaemonStart?
    /// The `listen` sockets, bound before the first start and held until the end.
    let sockets: [ListeningSocket]
    /// A restart in place under way, whether another was asked for
    /// meanwhile, and the instances being stopped while the service goes on.
    var replacement: Replacement?
    var replacementPending = false
    var retirements: [Retirement] = []
    /// A first start that failed, reported once nothing of it is left and
    /// the supervisor waits for a change (`beginWaiting`).
    var waitingReport: (message: String, status: String, code: Int32)?

    /// Prepares a supervisor for `configuration` holding `pidFile` (locked,
    /// empty). Opens the log, the signal descriptor and the notify socket;
    /// a failure here is reported before anything is started.
    package init(configuration: ServiceConfiguration, paths: ServicePaths?, pidFile: PIDFile?, role: Role) throws {
        self.configuration = configuration
        self.paths = paths
        self.pidFile = pidFile
        reporter = StartReporter(role)
        schedule = RestartSchedule(configuration)
        daemonPIDFile = configuration.daemonPIDFile.map(DaemonPIDFile.init)
        credentials = try configuration.credentials()
        state = ServiceState(configuration: configuration)
        state.mode = .supervised
        state.supervisorPID = selfPID
        state.supervisorStartTime = ProcessTable.stat(of: selfPID)?.startTime

        CurrentProcess.ignore(.pipe)
        CurrentProcess.becomeChildSubreaper()
        signals = try SignalWatcher([.child, .terminate, .interrupt, .hangup, .quit, .user1, .user2])
        do {
            output = try ServiceOutput(configuration, paths: paths, foreground: reporter.isForeground)
        } catch let error as SystemError {
            throw SystemError("log", path: error.path, errno: error.errno)
        }
        readiness = try ReadinessWatcher(configuration.ready, name: configuration.name)
        if configuration.watch.isEmpty {
            watcher = nil
        } else if let paths {
            // Its own writes are never a change: the log (and its rotations), the run files.
            let own = [configuration.logFile(in: paths), paths.pidFile(configuration.name), paths.stateFile(configuration.name),
                       Path.join(paths.runDirectory, ".\(configuration.name).pid"), Path.join(paths.runDirectory, ".\(configuration.name).state")]
            watcher = try FileWatcher(paths: configuration.watch, ignoring: own.compactMap { $0 })
        } else {
            var own: [String] = []
            if case .file(let path) = configuration.log { own.append(Path.absolute(path)) }
            watcher = try FileWatcher(paths: configuration.watch, ignoring: own)
        }
        // Last: nothing after it can fail and leave a socket file behind.
        sockets = try ListenAddress.bindAll(configuration.listen)
    }

    /// The sockets as every instance receives them: descriptors 3, 4, ...
    var listeners: [Listeners.Socket] {
        zip(sockets, configuration.listen).map { Listeners.Socket(descriptor: $0.descriptor.rawValue, name: $1.name ?? configuration.name.rawValue) }
    }

    var log: ServiceLog { output.log }

    // MARK: Running

    /// Starts the service and supervises it until it is stopped for good;
    /// then releases the pidfile and exits the process.
    package func run() -> Never {
        do {
            try write()
        } catch {
            // Without its record the service could not be stopped or
            // reported on: the start fails before anything runs.
            let reason = "cannot write its state: \(error)"
            reporter.failed(Wording.startFailure(configuration.name, reason: reason, lines: []), status: reason, code: ExitCode.failure)
            for socket in sockets { socket.close() }
            pidFile?.release()
            CurrentProcess.exit(1)
        }
        CrashPoint.reach("before-spawn")
        spawn(initial: true)
        while true { turn() }
    }

    /// One turn of the loop: wait for an event or a deadline, handle it.
    private func turn() {
        var set = PollSet<Source>()
        set.add(signals.descriptor, .signals)
        for waiting in output.waitingOn { set.add(waiting.descriptor, .output(waiting.descriptor, writable: waiting.writable), writable: waiting.writable) }
        for fd in readiness.descriptors { set.add(fd, .readiness(fd)) }
        if let watcher { set.add(watcher.descriptor, .watcher) }
        let due = nextDeadline().map { Monotonic.millisecondsUntil($0) } ?? -1
        let plan = trim.plan(timeout: due, quiet: lifecycle.phase == .running || lifecycle.phase == .waiting)
        let ready = set.wait(timeoutMilliseconds: plan.timeout, releasing: plan.release?.ranges, stackStart: plan.release?.stackStart ?? 0)
        trim.after(events: ready.count, deadline: due >= 0)
        // Output first: a failure report then includes the last lines; signals last.
        for source in ready {
            switch source {
            case .output(let fd, let writable): output.handle(fd, writable: writable); recordDroppedLines()
            case .readiness(let fd): handleReadiness(readiness.read(fd, isService: isService))
            case .watcher: watcher?.readEvents()
            case .signals: break
            }
        }
        if ready.contains(where: { if case .signals = $0 { return true } else { return false } }) { handleSignals() }
        handleDeadlines(now: Monotonic.now())
    }

    private func nextDeadline() -> Int64? {
        [lifecycle.deadline, output.partialLineDeadline, watcher?.dueAt, statusSaveDue, watchdog.deadline, daemonStart?.dueAt,
         replacement?.deadline, retirementDeadline].compactMap { $0 }.min()
    }

    private func handleDeadlines(now: Int64) {
        switch lifecycle.phase {
        case .starting(let window, let timeout):
            if let window, now >= window {
                reportReady()
            } else if let timeout, now >= timeout {
                startFailed("not ready after \(configuration.readyTimeout)", code: ExitCode.failure)
            }
        case .backoff(let until) where now >= until:
            respawn()
        case .stopping(let nextStepAt?, _) where now >= nextStepAt:
            nextStopStep()
        default:
            break
        }
        if let deadline = output.partialLineDeadline, now >= deadline { output.flushPartialLine() }
        if let due = statusSaveDue, now >= due { save() }
        if let due = watchdog.deadline, now >= due { watchdogDue(now: now) }
        if let due = daemonStart?.dueAt, now >= due { checkDaemonPIDFile(now: now) }
        if let watcher, let due = watcher.dueAt, now >= due, watcher.takeChanges() { watchedChange() }
        if let due = replacement?.deadline, now >= due { replacementDue(now: now) }
        if let due = retirementDeadline, now >= due { retirementsDue(now: now) }
    }

    // MARK: The record

    /// Records the state, its phase the lifecycle's.
    func write() throws {
        statusSaveDue = nil
        state.phase = lifecycle.recorded
        // `state.pid` is cleared as the main process is reaped: until then its pid stays taken.
        state.mainSeen = state.pid == nil ? nil : ProcessTable.ticksSinceBoot()
        if let paths { try state.write(paths.stateFile(configuration.name)) }
    }

    /// A note about the service's ordinary life (started, ready, stopping,
    /// exited 0): in its log, but not on swiftd's own output under `swiftd
    /// run`, which says nothing of its own when all goes well (cron mails
    /// every line a job prints).
    func routine(_ text: String) {
        if reporter.isForeground && log.isProcessOutput { return }
        log.note(text)
    }

    /// Records the state; a failure is not the service's (the next write retries).
    func save() {
        try? write()
    }
}
