extension ServiceConfiguration {
    /// The user and groups to run as, looked up now (before any fork).
    /// - Throws: `ServiceError` for an unknown user or group: exit code 6
    ///   naming the file when they came from a config file, else 2.
    public func credentials() throws -> Credentials? {
        guard user != nil || group != nil else { return nil }
        do {
            return try Credentials.lookup(user: user, group: group)
        } catch let error as CredentialsError {
            if case .configFile(let file) = source { throw ServiceError("\(file): \(error)", code: ExitCode.notConfigured) }
            throw ServiceError("\(error)", code: ExitCode.usage)
        }
    }

    /// The environment the service starts with: swiftd's own (unless
    /// clear-env) without `NOTIFY_SOCKET`, with USER, LOGNAME and HOME for a
    /// `user`, then every `env` setting, then `NOTIFY_SOCKET` for notify readiness.
    public func serviceEnvironment(credentials: Credentials?, notifySocket: String?) -> [String] {
        var env = clearEnvironment ? [] : Environment.current()
        env = Environment.setting("NOTIFY_SOCKET", to: nil, in: env)
        if let credentials, let userName = credentials.userName {
            env = Environment.setting("USER", to: userName, in: env)
            env = Environment.setting("LOGNAME", to: userName, in: env)
            if let home = credentials.home { env = Environment.setting("HOME", to: home, in: env) }
        }
        for entry in environment {
            guard let (name, value) = entry.splitAtFirst("=") else { continue }
            env = Environment.setting(name, to: value, in: env)
        }
        if let notifySocket { env = Environment.setting("NOTIFY_SOCKET", to: notifySocket, in: env) }
        return env
    }

    /// The executable the command names, resolved now against the service's PATH.
    /// - Throws: `ServiceError`: exit 5 when not found, 4 when not executable.
    public func resolvedExecutable() throws -> String {
        guard let first = argv.first else { throw ServiceError("no command given for \(name)", code: ExitCode.notConfigured) }
        let env = serviceEnvironment(credentials: nil, notifySocket: nil)
        let searchPath = env.last(where: { $0.hasPrefix("PATH=") }).map { String($0.dropFirst(5)) }
        do {
            return try ExecutableLookup.resolve(first, searchPath: searchPath)
        } catch let error as LaunchError {
            throw ServiceError("\(name): \(error)", code: error.errno == .noSuchFile ? ExitCode.notFound : ExitCode.noPermission)
        }
    }

    /// The launch of the service's command: its own session, streams and
    /// descriptors as given, everything else from this configuration.
    func launchConfiguration(credentials: Credentials?, output: LaunchConfiguration.Stream, error: LaunchConfiguration.Stream, notifySocket: String?,
                             descriptors: [Int32: FileDescriptor], parentDeathSignal: Signal?) -> LaunchConfiguration {
        LaunchConfiguration(
            executable: argv[0], arguments: Array(argv.dropFirst()), argv0: argv[0],
            environment: serviceEnvironment(credentials: credentials, notifySocket: notifySocket),
            workingDirectory: chdir, umask: umask, credentials: credentials, session: .newSession,
            standardInput: .null, standardOutput: output, standardError: error, descriptors: descriptors,
            nice: nice, parentDeathSignal: parentDeathSignal)
    }
}

extension LaunchError {
    /// The `start` exit code for this failure: 5 command not found, 4 permission, 1 otherwise.
    public var startExitCode: Int32 {
        if step == .lookup && errno == .noSuchFile { return ExitCode.notFound }
        if step == .exec && errno == .noSuchFile { return ExitCode.notFound }
        return ExitCode.forStart(errno)
    }
}
