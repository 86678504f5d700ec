internal import Glibc

/// The behaviour behind swiftd's commands, for one set of directories. Each
/// operation returns an `Outcome` (exit code and the lines to print); the
/// command-line tool only parses and prints.
package struct ServiceController: Sendable {
    /// What an operation says and the exit code it ends with.
    package struct Outcome: Sendable, Equatable {
        package var code: Int32
        /// For standard output.
        package var output: String?
        /// For standard error.
        package var error: String?

        package init(code: Int32, output: String? = nil, error: String? = nil) {
            self.code = code
            self.output = output
            self.error = error
        }

        static func failure(_ error: ServiceError) -> Outcome { Outcome(code: error.code, error: error.message) }
    }

    package let paths: ServicePaths

    package init(paths: ServicePaths) {
        self.paths = paths
    }

    // MARK: start

    /// Starts the service and returns only once it runs (survived its start
    /// window or said it is ready), or with the reason it does not.
    /// `restarts`: the count its record begins with (a restart by stop and
    /// start carries the count on, one more).
    package func start(_ configuration: ServiceConfiguration, restarts: Int = 0) -> Outcome {
        var progress = beginStart(configuration, restarts: restarts)
        while true {
            switch progress {
            case .done(let outcome):
                return outcome
            case .waiting(let pending):
                _ = try? pending.descriptor.waitReadable(timeoutMilliseconds: -1)
                progress = advance(pending)
            case .wouldWait:
                preconditionFailure("a start allowed to wait does not say it would")
            }
        }
    }

    /// The first part of `start`: everything up to the fork of a supervised
    /// service's supervisor, whose report `advance` then takes; a service in
    /// exec mode, or one already running, is done here. With `mayWait`
    /// false, a start that would have to wait here instead (see
    /// `StartProgress.wouldWait`) is not begun.
    package func beginStart(_ configuration: ServiceConfiguration, mayWait: Bool = true, restarts: Int = 0) -> StartProgress {
        var configuration = configuration
        do {
            let credentials = try prepare(&configuration)
            let name = configuration.name
            if let running = try runningInstance(name, mayWait: mayWait) {
                return .done(Outcome(code: ExitCode.success, output: running))
            }
            // Not allowed to wait: nothing left to clear, so the state file is not read again.
            if !mayWait, !configuration.supervise || hasLeftovers(name) { return .wouldWait }
            CrashPoint.reach("after-probe")
            if mayWait { clearLeftovers(name) }
            guard configuration.supervise else { return .done(try startExec(configuration, credentials: credentials, restarts: restarts)) }
            return try startSupervised(configuration, restarts: restarts)
        } catch is WouldWait {
            return .wouldWait
        } catch is WaitingForChange {
            // It failed and waits for a change: a start is the user's way of
            // saying "try now", as a restart is.
            guard mayWait else { return .wouldWait }
            var outcome = restart(configuration)
            outcome.output = outcome.output?.replacingAll(" restarted ", with: " started ")
            return .done(outcome)
        } catch let error as ConfigurationError {
            return .done(Outcome(code: configuration.exitCode(for: error), error: error.message))
        } catch let error as ServiceError {
            return .done(.failure(error))
        } catch {
            return .done(Outcome(code: ExitCode.of(error), error: "\(configuration.name): \(error)"))
        }
    }

    /// Takes a start on once `pending.descriptor` is readable: the
    /// supervisor's report, or its exit after a failure.
    package func advance(_ pending: PendingStart) -> StartProgress {
        let name = pending.name
        if let (supervisor, outcome) = pending.exiting {
            let status = try? supervisor.reap()
            supervisor.close()
            return .done(startOutcome(name, outcome, supervisor: status))
        }
        guard let outcome = pending.startup.received() else { return .waiting(pending) }
        if case .ready = outcome { return .done(startOutcome(name, outcome, supervisor: nil)) }
        // The supervisor stops what is left, then exits: wait for it, so that
        // nothing of the service is running when the start is over. (Nil pid:
        // the intermediate child failed; it has been reaped.)
        guard let pid = pending.startup.daemonPID, let supervisor = try? ProcessHandle.open(pid: pid) else {
            return .done(startOutcome(name, outcome, supervisor: pending.startup.waitForDaemonExit()))
        }
        return .waiting(PendingStart(name: name, startup: pending.startup, exiting: (supervisor, outcome)))
    }

    /// What a start says: the supervisor's report, or that it died before
    /// it made one (`status`: how it ended).
    private func startOutcome(_ name: ServiceName, _ outcome: Daemon.Startup.Outcome, supervisor status: ExitStatus?) -> Outcome {
        switch outcome {
        // A report of "done" with a failing code: a start that failed while
        // its supervisor stays (it waits for a change of a watched file).
        case .ready(let message, let code) where code != ExitCode.success: return Outcome(code: code, error: message)
        case .ready(let message, let code): return Outcome(code: code, output: message)
        case .failed(let message, let code): return Outcome(code: code, error: message)
        case .closed, .timedOut:
            return Outcome(code: ExitCode.failure, error: Wording.startFailure(name, reason: "its supervisor \(status.map { "\($0)" } ?? "died")", lines: []))
        }
    }

    /// Thrown inside `beginStart` when it may not wait and would have to.
    private struct WouldWait: Error {}

    /// Thrown inside `beginStart` when the service's supervisor waits for a
    /// change of a watched file after a failure.
    private struct WaitingForChange: Error {}

    /// "NAME is already running (pid N)" when something of the service runs
    /// (its lock is held, or its record names a live supervisor or exec-mode
    /// process), nil when it can be started. A lock held without a pid by a
    /// process that is not the service's (a command clearing what a dead
    /// instance left) is waited for, unless `mayWait` is false (then
    /// `WouldWait` is thrown); a new supervisor's pid, briefly.
    func runningInstance(_ name: ServiceName, mayWait: Bool = true) throws -> String? {
        let started = Monotonic.now()
        var pause: Int64 = 1_000_000
        while true {
            let snapshot = try ServiceSnapshot.read(name, paths: paths)
            let waited = Monotonic.now() - started
            switch snapshot.lock {
            case .held(let pid?):
                return Wording.alreadyRunning(name, pid: pid, supervisor: nil)
            case .held(nil):
                if let supervisor = try snapshot.supervisor() {
                    supervisor.close()
                    if snapshot.recorded?.phase == .waiting { throw WaitingForChange() }
                    if snapshot.recorded?.phase == .backoff || waited >= 500_000_000 {
                        return Wording.alreadyRunning(name, pid: nil, supervisor: supervisor.pid, phase: snapshot.recorded?.phase)
                    }
                }
                let patience = snapshot.recorded.map { StopRequest.plan($0.configuration).total.nanoseconds + 30_000_000_000 } ?? 2_000_000_000
                if waited >= patience {
                    throw ServiceError("\(name): \(snapshot.pidPath) stays locked by a process that is neither its supervisor nor the service (not starting)",
                                       code: ExitCode.failure)
                }
                guard mayWait else { throw WouldWait() }
            case .untrusted(let holder):
                throw ServiceError(untrustedLock(snapshot, holder: holder), code: ExitCode.failure)
            case .absent, .free:
                guard let recorded = snapshot.recorded, let live = try recorded.liveInstance() else { return nil }
                snapshot.askSupervisorToRestorePidfile()
                if recorded.phase == .waiting { throw WaitingForChange() }
                return Wording.alreadyRunning(name, pid: live.pid, supervisor: live.supervisor, phase: recorded.phase)
            }
            Monotonic.sleep(nanoseconds: pause)
            pause = min(pause * 2, 20_000_000)
        }
    }

    func untrustedLock(_ snapshot: ServiceSnapshot, holder: pid_t?) -> String {
        "\(snapshot.name): \(snapshot.pidPath) is locked by \(holder.map { "pid \($0)" } ?? "a process"), which is not a process of \(snapshot.name), "
            + "and other users can open it (left by an older swiftd): remove it"
    }

    /// In the daemon: takes the service's pidfile (writing `pid`). When
    /// another process holds it, or the record names an instance that still
    /// runs without it, tells the start command "already running" (exit 0)
    /// and exits; on any other failure reports it and exits 1. The check
    /// under the lock is the one that decides between racing starts.
    func lockInDaemon(_ name: ServiceName, daemon: Daemon, pid: pid_t?) -> PIDFile {
        do {
            let lock = try PIDFile.acquire(at: paths.pidFile(name), pid: pid)
            if let recorded = try? ServiceState.read(paths.stateFile(name), name: name), let live = try recorded.liveInstance() {
                lock.release()
                daemon.ready(Wording.alreadyRunning(name, pid: live.pid, supervisor: live.supervisor, phase: recorded.phase))
                CurrentProcess.exit(0)
            }
            return lock
        } catch let locked as PIDFile.Locked {
            daemon.ready(Wording.alreadyRunning(name, pid: locked.pid, supervisor: locked.holder))
            CurrentProcess.exit(0)
        } catch {
            daemon.fail("\(name): \(error)", exitCode: ExitCode.of(error))
            CurrentProcess.exit(1)
        }
    }

    /// Everything that can be checked before the service is touched, with
    /// nothing created: the configuration's substance (`checkBeforeStart`:
    /// settings, env files, chroot, limits, user, command, working directory,
    /// listen addresses), then its files (`checkFiles`). `start` and `run` go
    /// through it in `prepare`, `restart` before it stops anything, `check`
    /// to say what is wrong.
    package func validate(_ configuration: inout ServiceConfiguration, foreground: Bool = false) throws -> Credentials? {
        let credentials = try configuration.checkBeforeStart()
        try checkFiles(configuration, foreground: foreground)
        return credentials
    }

    /// `validate`, with what a start creates: the run dir (before the files
    /// are checked), then the log dir and the log.
    func prepare(_ configuration: inout ServiceConfiguration, foreground: Bool = false) throws -> Credentials? {
        let credentials = try configuration.checkBeforeStart()
        try paths.prepareRunDirectory()
        let stateFile = paths.stateFile(configuration.name)
        if let st = try? FileSystem.linkStatus(stateFile), st.st_mode & S_IFMT != S_IFREG {
            let what = st.st_mode & S_IFMT == S_IFLNK ? "is a symbolic link" : "not a regular file"
            throw ServiceError("state file \(stateFile): \(what) (refused)", code: ExitCode.failure)
        }
        try checkFiles(configuration, foreground: foreground)
        if let log = configuration.logFile(in: paths, foreground: foreground) {
            try logFailure(log) {
                try paths.prepareLogDirectory(for: log)
                try ServicePaths.openLog(log).close()
            }
        }
        return credentials
    }

    /// The files of `configuration`, creating none: the daemon's pidfile is
    /// not swiftd's own, the log and its directory (none for `run` writing
    /// to its own output) can be written, syslog takes messages.
    private func checkFiles(_ configuration: ServiceConfiguration, foreground: Bool) throws {
        if let file = configuration.daemonPIDFile, Path.absolute(file) == Path.absolute(paths.pidFile(configuration.name)) {
            throw ConfigurationError(key: "pidfile", message: "pidfile \(file) is swiftd's own pidfile of \(configuration.name): give the daemon a file of its own")
        }
        if let log = configuration.logFile(in: paths, foreground: foreground) {
            try logFailure(log) {
                try paths.checkLogDirectory(for: log)
                do {
                    // An existing log is opened as it will be; a missing one is not created.
                    try ServicePaths.openLog(log, create: false).close()
                } catch let error as SystemError where error.errno == .noSuchFile {}
            }
        }
        if case .syslog = configuration.log {
            // Every line would be lost: say so now rather than start.
            let socket = SyslogSink.socketPath()
            do {
                try SyslogSink.connect(socket).close()
            } catch let error as SystemError {
                throw ServiceError("log syslog: nothing takes messages at \(socket) (\(error.errno)): is a syslog daemon running?", code: ExitCode.failure)
            }
        }
    }

    /// Runs `body`, a check or creation of `log`, its failure said as the log's.
    private func logFailure(_ log: String, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as SystemError where error.path == log {
            throw ServiceError("log \(log): \(error.errno == .tooManySymbolicLinks ? "is a symbolic link (refused)" : error.errno.description)",
                               code: ExitCode.forStart(error.errno))
        } catch let error as InvalidFile where error.path == log {
            throw ServiceError("log \(error.message)", code: ExitCode.of(error))
        }
    }

    /// Kills what is left of a service whose supervisor (or exec-mode
    /// process) died, so that a new start begins clean. Only while holding
    /// the pidfile's lock, and only when the record under it names an
    /// instance that is gone: then no supervisor runs the service or can
    /// start it meanwhile, and the record is not a newcomer's.
    func clearLeftovers(_ name: ServiceName) {
        guard hasLeftovers(name), let lock = try? PIDFile.acquire(at: paths.pidFile(name), pid: nil, waitForPID: .zero) else { return }
        defer { lock.release() }
        CrashPoint.reach("clearing-leftovers")
        guard let recorded = try? ServiceState.read(paths.stateFile(name), name: name) else { return }
        do {
            if try recorded.liveInstance() != nil { return }
        } catch {
            return
        }
        Leftovers.stop(recorded, plan: StopRequest.plan(recorded.configuration))
    }

    /// Whether the record names processes of a dead instance that a start
    /// would stop first (`clearLeftovers`).
    func hasLeftovers(_ name: ServiceName) -> Bool {
        guard let recorded = try? ServiceState.read(paths.stateFile(name), name: name) else { return false }
        return !Leftovers.find(recorded).isEmpty
    }

    private func startSupervised(_ configuration: ServiceConfiguration, restarts: Int) throws -> StartProgress {
        let name = configuration.name
        CrashPoint.reach("before-fork")
        switch try Daemon.fork(DaemonOptions()) {
        case .daemon(let daemon):
            ProcessTitle.set("swiftd: \(name)")
            CrashPoint.reach("before-pidfile")
            let pidFile = lockInDaemon(name, daemon: daemon, pid: nil)
            do {
                let supervisor = try Supervisor(configuration: configuration, paths: paths, pidFile: pidFile, role: .background(daemon))
                supervisor.state.restarts = restarts
                supervisor.run()
            } catch {
                pidFile.release()
                let code = ExitCode.of(error)
                daemon.fail(Wording.startFailure(name, reason: "\(error)", lines: []), exitCode: code)
                CurrentProcess.exit(1)
            }
        case .original(let startup):
            return .waiting(PendingStart(name: name, startup: startup, exiting: nil))
        }
    }
}

extension ServiceConfiguration {
    /// A bad setting found when the service is prepared: 2 for one from the
    /// command line, 6 for one from a config file (where it says, else by
    /// where the command came from).
    func exitCode(for error: ConfigurationError) -> Int32 {
        switch error.origin {
        case .commandLine?: return ExitCode.usage
        case .file?: return ExitCode.notConfigured
        case nil: return source.isConfigFile ? ExitCode.notConfigured : ExitCode.usage
        }
    }
}
