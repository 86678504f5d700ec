/// The behaviour behind swiftd's commands, for one set of directories. Each
/// operation returns an `Outcome` (exit code and the lines to print); the
/// command-line tool only parses and prints.
public struct ServiceController: Sendable {
    /// What an operation says and the exit code it ends with.
    public struct Outcome: Sendable, Equatable {
        public var code: Int32
        /// For standard output.
        public var output: String?
        /// For standard error.
        public var error: String?

        public init(code: Int32, output: String? = nil, error: String? = nil) {
            self.code = code
            self.output = output
            self.error = error
        }

        static func failure(_ error: ServiceError) -> Outcome { Outcome(code: error.code, error: error.message) }
    }

    public let paths: ServicePaths

    public init(paths: ServicePaths) {
        self.paths = paths
    }

    // MARK: start

    /// Starts the service and returns only once it runs (survived its start
    /// window or said it is ready), or with the reason it does not.
    public func start(_ configuration: ServiceConfiguration) -> Outcome {
        do {
            let credentials = try prepare(configuration)
            let name = configuration.name
            switch PIDFile.status(at: paths.pidFile(name), waitingForPID: 500_000_000) {
            case .running(let pid, let holder):
                return Outcome(code: ExitCode.success, output: alreadyRunning(name, pid: pid, holder: holder))
            case .unreadable(let reason):
                return Outcome(code: ExitCode.failure, error: "\(name): \(reason)")
            case .stale, .absent:
                CrashPoint.reach("after-probe")
                clearLeftovers(name)
            }
            return configuration.supervise ? try startSupervised(configuration) : try startExec(configuration, credentials: credentials)
        } catch let error as ServiceError {
            return .failure(error)
        } catch let error as ConfigurationError {
            let code = configuration.source.isConfigFile ? ExitCode.notConfigured : ExitCode.usage
            return Outcome(code: code, error: error.message)
        } catch {
            return Outcome(code: ExitCode.failure, error: "\(configuration.name): \(error)")
        }
    }

    /// In the daemon: takes the service's pidfile (writing `pid`). When
    /// another process holds it, tells the start command "already running"
    /// (exit 0) and exits; on any other failure reports it and exits 1.
    func lockInDaemon(_ name: ServiceName, daemon: Daemon, pid: pid_t?) -> PIDFile {
        do {
            return try PIDFile.acquire(at: paths.pidFile(name), pid: pid)
        } catch let locked as PIDFile.Locked {
            daemon.ready(alreadyRunning(name, pid: locked.pid, holder: locked.holder))
            exit(0)
        } catch {
            daemon.fail("\(name): \(error)", exitCode: ExitCode.failure)
            exit(1)
        }
    }

    /// "web is already running (pid N)"; while a supervisor waits to respawn,
    /// the file holds no pid and the supervisor is named instead.
    func alreadyRunning(_ name: ServiceName, pid: pid_t?, holder: pid_t?) -> String {
        if let pid { return "\(name) is already running (pid \(pid))" }
        let supervisor = holder ?? (try? ServiceState.read(paths.stateFile(name), name: name))?.supervisorPID
        return "\(name) is already running (restarting; supervisor pid \(supervisor.map(String.init) ?? "unknown"))"
    }

    /// Everything that can be checked before forking: the configuration, the
    /// run dir, the user, the executable, the log file.
    func prepare(_ configuration: ServiceConfiguration) throws -> Credentials? {
        try configuration.validate()
        try paths.prepareRunDirectory()
        let stateFile = paths.stateFile(configuration.name)
        if let st = try? FileSystem.linkStatus(stateFile), st.st_mode & S_IFMT != S_IFREG {
            let what = st.st_mode & S_IFMT == S_IFLNK ? "is a symbolic link" : "not a regular file"
            throw ServiceError("state file \(stateFile): \(what) (refused)", code: ExitCode.failure)
        }
        let credentials = try configuration.credentials()
        _ = try configuration.resolvedExecutable()
        if let log = configuration.logFile(in: paths) {
            try paths.prepareLogDirectory(for: log)
            do {
                let fd = try FileDescriptor.open(log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, mode: 0o644)
                let st = try fd.status()
                fd.close()
                if st.st_mode & S_IFMT != S_IFREG { throw ServiceError("log \(log): not a regular file", code: ExitCode.failure) }
            } catch let error as SystemError {
                throw ServiceError("log \(log): \(error.errno == .tooManyLinks ? "is a symbolic link (refused)" : error.errno.description)",
                                   code: ExitCode.forStart(error.errno))
            }
        }
        return credentials
    }

    /// Kills what is left of a service whose supervisor died (it held no
    /// lock any more), so that a new start begins clean. Only while holding
    /// the pidfile's lock: then no supervisor runs the service or can start
    /// it meanwhile, and the record read under the lock is not a newcomer's.
    func clearLeftovers(_ name: ServiceName) {
        guard let first = try? ServiceState.read(paths.stateFile(name), name: name), !Leftovers.find(first).isEmpty,
              let lock = try? PIDFile.acquire(at: paths.pidFile(name), pid: nil, waitForPID: 0) else { return }
        defer { lock.release() }
        guard let recorded = try? ServiceState.read(paths.stateFile(name), name: name) else { return }
        Leftovers.stop(recorded, signal: recorded.configuration.stopSignal, timeout: recorded.configuration.stopTimeout)
    }

    private func startSupervised(_ configuration: ServiceConfiguration) throws -> Outcome {
        let name = configuration.name
        CrashPoint.reach("before-fork")
        switch try Daemon.fork(DaemonOptions()) {
        case .daemon(let daemon):
            ProcessTitle.set("swiftd: \(name)")
            CrashPoint.reach("before-pidfile")
            let pidFile = lockInDaemon(name, daemon: daemon, pid: nil)
            do {
                let supervisor = try Supervisor(configuration: configuration, paths: paths, pidFile: pidFile, role: .background(daemon))
                supervisor.run()
            } catch {
                pidFile.release()
                let code = (error as? ServiceError)?.code ?? ExitCode.failure
                daemon.fail("\(name) failed to start: \(error)", exitCode: code)
                exit(1)
            }
        case .original(let startup):
            switch startup.wait() {
            case .ready(let message, let code): return Outcome(code: code, output: message)
            case .failed(let message, let code):
                // The supervisor stops what is left, then exits: wait for it,
                // so that nothing of the service is running when start returns.
                _ = startup.waitForDaemonExit()
                return Outcome(code: code, error: message)
            case .closed:
                let status = startup.waitForDaemonExit()
                return Outcome(code: ExitCode.failure, error: "\(name) failed to start: its supervisor \(status.map { "\($0)" } ?? "died")")
            }
        }
    }

    // MARK: run

    /// `swiftd run`: supervises in the foreground and exits with the
    /// service's status; exits 1 when NAME is already running.
    public func run(_ configuration: ServiceConfiguration) -> Int32 {
        let name = configuration.name
        do {
            _ = try prepare(configuration)
            let pidFile: PIDFile
            do {
                pidFile = try PIDFile.acquire(at: paths.pidFile(name), pid: nil)
            } catch let locked as PIDFile.Locked {
                Standard.error("swiftd: " + alreadyRunning(name, pid: locked.pid, holder: locked.holder))
                return ExitCode.failure
            }
            let supervisor = try Supervisor(configuration: configuration, paths: paths, pidFile: pidFile, role: .foreground)
            supervisor.run()
        } catch let error as ServiceError {
            Standard.error("swiftd: \(error.message)")
            return error.code
        } catch let error as ConfigurationError {
            Standard.error("swiftd: \(error.message)")
            return configuration.source.isConfigFile ? ExitCode.notConfigured : ExitCode.usage
        } catch {
            Standard.error("swiftd: \(name): \(error)")
            return ExitCode.failure
        }
    }
}

extension ServiceConfiguration.Source {
    var isConfigFile: Bool {
        if case .configFile = self { return true }
        return false
    }
}
