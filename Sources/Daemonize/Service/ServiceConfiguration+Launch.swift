internal import Glibc

extension ServiceConfiguration {
    /// The user and groups to run as, looked up now (before any fork).
    /// - Throws: `ConfigurationError` for an unknown user or group, naming
    ///   the file when they came from a config file.
    package func credentials() throws -> Credentials? {
        guard user != nil || group != nil else { return nil }
        do {
            return try Credentials.lookup(user: user, group: group)
        } catch let error as CredentialsError {
            // From the file unless the command line gave the user or group.
            let given = commandLineOptions.contains { $0.splitAtFirst("=").map { ["user", "group"].contains($0.before) } ?? false }
            if case .configFile(let file) = source, !given { throw ConfigurationError(key: "user", message: "\(file): \(error)", origin: .file(file)) }
            throw ConfigurationError(key: "user", message: "\(error)", origin: .commandLine)
        }
    }

    /// The environment the service starts with: swiftd's own (unless
    /// clear-env) without `NOTIFY_SOCKET`, with USER, LOGNAME and HOME for a
    /// `user`, then what the `env-file`s held (as read at this start), then
    /// every `env` setting, then `NOTIFY_SOCKET` for notify readiness
    /// and `WATCHDOG_USEC` for a watchdog (swiftd's own are never passed on).
    package func serviceEnvironment(credentials: Credentials?, notifySocket: String?) -> [String] {
        var env = clearEnvironment ? [] : Environment.current()
        env = Environment.setting("NOTIFY_SOCKET", to: nil, in: env)
        if let credentials, let userName = credentials.userName {
            env = Environment.setting("USER", to: userName, in: env)
            env = Environment.setting("LOGNAME", to: userName, in: env)
            if let home = credentials.home { env = Environment.setting("HOME", to: home, in: env) }
        }
        for entry in fileEnvironment + environment {
            guard let (name, value) = entry.splitAtFirst("=") else { continue }
            env = Environment.setting(name, to: value, in: env)
        }
        if let notifySocket { env = Environment.setting("NOTIFY_SOCKET", to: notifySocket, in: env) }
        env = Environment.setting("WATCHDOG_USEC", to: watchdog.map { String(($0.nanoseconds + 999) / 1000) }, in: env)
        env = Environment.setting("WATCHDOG_PID", to: nil, in: env)
        return env
    }

    /// The executable the command names, resolved now against the service's
    /// PATH (inside the `chroot` directory when there is one).
    /// - Throws: `LaunchError` at step `lookup` (not found, not executable),
    ///   or `ConfigurationError` when there is no command, or a chroot
    ///   directory that cannot be used or lacks the command.
    package func resolvedExecutable() throws -> String {
        guard let first = argv.first else { throw ConfigurationError(key: "command", message: "no command given for \(name)") }
        let env = serviceEnvironment(credentials: nil, notifySocket: nil)
        let searchPath = env.last(where: { $0.hasScalarPrefix("PATH=") }).map { String($0.unicodeScalars.dropFirst(5)) }
        if let rootDirectory { return try resolvedInRoot(rootDirectory, command: first, searchPath: searchPath) }
        return try ExecutableLookup.resolve(first, searchPath: searchPath)
    }

    /// The launch of the service's command: its own session, streams and
    /// descriptors as given, everything else from this configuration.
    func launchConfiguration(credentials: Credentials?, output: LaunchConfiguration.Stream, error: LaunchConfiguration.Stream, notifySocket: String?,
                             descriptors: [Int32: FileDescriptor], parentDeathSignal: ProcessSignal?,
                             listeners: [Listeners.Socket] = []) -> LaunchConfiguration {
        var launch = LaunchConfiguration(
            executable: argv[0], arguments: Array(argv.dropFirst()), argv0: argv[0],
            environment: serviceEnvironment(credentials: credentials, notifySocket: notifySocket),
            workingDirectory: chdir, umask: umask, credentials: credentials, session: .newSession,
            standardInput: .null, standardOutput: output, standardError: error, descriptors: descriptors.mapValues(\.rawValue),
            nice: nice, parentDeathSignal: parentDeathSignal)
        launch.resourceLimits = limits
        launch.rootDirectory = rootDirectory
        launch.ioScheduling = ioScheduling
        launch.cpuScheduling = cpuScheduling
        launch.oomScoreAdjustment = oomScoreAdjustment
        launch.listeners = listeners
        return launch
    }
}
