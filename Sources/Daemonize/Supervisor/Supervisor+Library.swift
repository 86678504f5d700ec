internal import Glibc

extension Supervisor {
    /// Supervises `configuration` in this process, the way `swiftd run`
    /// does but without swiftd's run directory and state file: starts the
    /// command in its own session, waits for its readiness, relays its
    /// output (to this process's standard output unless `configuration.log`
    /// names a file), respawns it by `restart` and `restartExitCode`
    /// (`restart = .no` with `restartExitCode = 75`: only an exit with 75
    /// respawns), restarts it when a `watch` path's content changes (and
    /// after a failure, with a `watch`, waits for the next change to start
    /// it again rather than exit), and on
    /// SIGTERM stops every process of it (with its stop signal; SIGINT, with
    /// SIGINT when no `daemon` is given: in the foreground, as tini passes
    /// it on). Then it exits the process
    /// with the service's status (128 + N for a signal).
    ///
    /// It takes the process over: it blocks the signals it handles (read
    /// through a `signalfd`) and becomes a child subreaper (`prctl`), so call
    /// it from a program with one thread, as its last statement.
    ///
    /// - Parameters:
    ///   - pidFile: A pidfile to hold locked while supervising, naming the
    ///     service's current pid (empty between two runs); nil for none.
    ///   - daemon: A daemon (from `Daemon.detach`) whose original process
    ///     waits: told ready once the first start is ready, or why it failed.
    /// - Throws: before anything starts: `ConfigurationError` for a
    ///   configuration that cannot run (an environment file that cannot be
    ///   read, a chroot without the command), `LaunchError` for a command not
    ///   found, `CredentialsError`, `PIDFile.Locked`, `DaemonError` for a
    ///   process with threads, or a `SystemError` (the log, the notify socket).
    public static func run(_ configuration: ServiceConfiguration, pidFile: String? = nil, reportingTo daemon: Daemon? = nil) throws -> Never {
        var configuration = configuration
        configuration.supervise = true
        try configuration.validate()
        try configuration.readEnvironmentFiles()
        try configuration.checkProcessEnvironment()
        _ = try configuration.resolvedExecutable()
        let threads = ProcessTable.threadCount()
        if threads > 1 { throw DaemonError.multithreaded(threads: threads) }
        let lock = try pidFile.map { try PIDFile.acquire(at: $0, pid: nil) }
        let supervisor: Supervisor
        do {
            supervisor = try Supervisor(configuration: configuration, paths: nil, pidFile: lock, role: daemon.map { .background($0) } ?? .foreground)
        } catch {
            lock?.release()
            throw error
        }
        supervisor.run()
    }
}
