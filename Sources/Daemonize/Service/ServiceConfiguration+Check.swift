internal import Glibc

/// The one check of a configuration's substance: what a start of it depends
/// on that this machine can answer now, without starting, binding or
/// creating anything. `start` and `run` make it before their fork, `restart`
/// before it touches the running instance (a bad edit leaves the service
/// running, as `nginx -t` before a reload), `check` prints what it finds, and
/// the supervisor makes it before a restart in place stops anything.
extension ServiceConfiguration {
    /// Checks, in order: the settings fit together (`validate`), every
    /// `env-file` reads (now, into `fileEnvironment`, for every run of this
    /// start), the chroot and limits can be used, the user and group exist,
    /// the command is found and executable (inside the chroot), the working
    /// directory exists, and each `listen` address could be bound (a unix
    /// socket's directory exists and holds no other file at its path, its
    /// `owner=` exists; a host name resolves).
    /// - Returns: the user and groups to run as.
    /// - Throws: `ConfigurationError` naming the setting (and the config file),
    ///   `LaunchError` at step `lookup` (the command) or `chdir`, as the
    ///   launch would, or the `ListenError` the bind would give.
    package mutating func checkBeforeStart() throws -> Credentials? {
        try validate()
        try readEnvironmentFiles()
        try checkProcessEnvironment()
        let credentials = try self.credentials()
        _ = try resolvedExecutable()
        try checkWorkingDirectory()
        for address in listen { try address.checkWithoutBinding() }
        return credentials
    }

    /// The working directory (`chdir`) is a directory, inside the chroot
    /// when there is one: the service's start would fail at its `chdir`,
    /// said as that step's failure would be.
    func checkWorkingDirectory() throws {
        let root = try rootDirectory.map { try openRoot($0) }
        defer { root?.close() }
        guard let problem = FileSystem.directoryProblem(chdir, inRoot: root) else { return }
        throw LaunchError(step: .chdir, errno: problem, path: rootDirectory.map { "\(chdir) (inside \($0))" } ?? chdir)
    }
}
