/// What every command looks at before it acts on a service: its pidfile (the
/// lock, the pid) and its record, read together, and the processes that are
/// provably the service's own.
///
/// The lock is the truth about liveness. Where it cannot speak, the record
/// stands in, and only for the exact process it names (pid and start time,
/// checked through a pidfd): a supervisor whose pidfile was removed, an
/// exec-mode service that closed its inherited lock. No other process is ever
/// taken for the service's: not the lock holder as the kernel names it, not a
/// pid written in a file.
struct ServiceSnapshot {
    enum Lock: Equatable {
        /// No pidfile.
        case absent
        /// A pidfile nobody locks (stale); its pid is never trusted.
        case free(pid: pid_t?)
        /// Locked; `pid` is what the file holds (nil between two runs, or
        /// while a command holds it to clear what a dead instance left).
        case held(pid: pid_t?)
        /// Locked, but the file is one other users can open and its holder is
        /// not a process the record names: the lock proves nothing.
        case untrusted(holder: pid_t?)
    }

    let name: ServiceName
    let pidPath: String
    var lock: Lock
    /// The pidfile's identity, when there is one.
    var file: FileLocks.FileID?
    /// The record, when there is one and it reads.
    var recorded: ServiceState?
    /// What is wrong with the record, when it does not read.
    var recordError: ServiceError?

    /// Reads the pidfile and the record of `name`.
    /// - Throws: the error of a file that cannot be read at all (another
    ///   user's: `EACCES`, exit code 4); a malformed record is `recordError`.
    static func read(_ name: ServiceName, paths: ServicePaths) throws -> ServiceSnapshot {
        var snapshot = ServiceSnapshot(name: name, pidPath: paths.pidFile(name), lock: .absent)
        do {
            snapshot.recorded = try ServiceState.read(paths.stateFile(name), name: name)
        } catch let error as ServiceError {
            snapshot.recordError = error
        }
        guard let pidfile = try PIDFile.Snapshot.read(snapshot.pidPath) else { return snapshot }
        snapshot.file = pidfile.file
        let pid = PIDFile.parsePID(pidfile.content)
        if !pidfile.locked {
            snapshot.lock = .free(pid: pid)
        } else if pidfile.othersCanOpen, case .process(let holder) = FileLocks.flockHolder(of: pidfile.file),
                  holder == nil || (holder != snapshot.recorded?.supervisorPID && holder != snapshot.recorded?.pid) {
            // A file others can open (left by an older swiftd, 0644): its lock
            // counts only when a process the record names took it.
            snapshot.lock = .untrusted(holder: holder)
        } else {
            snapshot.lock = .held(pid: pid)
        }
        return snapshot
    }

    var isExecMode: Bool {
        if let recorded { return recorded.mode == .exec }
        if case .held(let pid?) = lock { return pid == PIDFile.lockHolder(at: pidPath) }
        return false
    }

    // MARK: The service's processes

    /// The supervisor, alive: the process the record names (pid and start
    /// time). Without a usable record, the process holding the lock, if it
    /// is a swiftd supervisor (its own name and executable say so).
    func supervisor() throws -> ProcessHandle? {
        guard !isExecMode else { return nil }
        if let recorded {
            if let supervisor = recorded.supervisor { return try supervisor.open() }
            // A record from before start times were kept: the recorded pid, if it holds the lock.
            guard let pid = recorded.supervisorPID, case .held = lock else { return nil }
            return try PIDFile.openProcess(at: pidPath, .holder(expected: pid))
        }
        guard case .held = lock, let pid = PIDFile.lockHolder(at: pidPath), ServiceSnapshot.isSupervisor(pid) else { return nil }
        return try PIDFile.openProcess(at: pidPath, .holder(expected: pid))
    }

    /// The service's main process, alive and proven to be the service's: in
    /// exec mode the recorded process; under a supervisor, the pid the locked
    /// pidfile names when it is the recorded main process or a child of the
    /// live supervisor. Nil when it does not run.
    /// - Throws: `ServiceError` when the pidfile names a process that is not
    ///   the service's (never signalled), or when liveness cannot be told.
    func mainProcess() throws -> ProcessHandle? {
        if isExecMode {
            guard let main = recorded?.main else { return nil }
            if case .held(let pid?) = lock, pid != main.pid { throw notTheService(pid) }
            return try main.open()
        }
        if case .held(let pid?) = lock {
            guard let handle = try PIDFile.openProcess(at: pidPath, .recorded) else { return nil }
            if let main = recorded?.main, main.pid == handle.pid, try main.isAlive() { return handle }
            if let supervisor = try supervisor() {
                defer { supervisor.close() }
                if try ProcessTable.status(of: handle.pid)?.parent == supervisor.pid { return handle }
            }
            handle.close()
            throw notTheService(pid)
        }
        // No lock: a removed pidfile, with its supervisor still alive.
        guard let main = recorded?.main, let supervisor = try supervisor() else { return nil }
        defer { supervisor.close() }
        guard let handle = try main.open() else { return nil }
        if try ProcessTable.status(of: handle.pid)?.parent == supervisor.pid { return handle }
        handle.close()
        return nil
    }

    /// True while something of the service provably runs, lock or no lock.
    func isRunning() throws -> Bool {
        switch lock {
        case .held: return true
        case .absent, .free, .untrusted:
            guard let recorded, recorded.isActive else { return false }
            if isExecMode { return try recorded.main?.isAlive() ?? false }
            return try recorded.supervisor?.isAlive() ?? false
        }
    }

    private func notTheService(_ pid: pid_t) -> ServiceError {
        ServiceError("\(name): \(pidPath) names pid \(pid), which is not a process of \(name) (refused)", code: ExitCode.failure)
    }

    /// A swiftd supervisor: named "swiftd: ..." and running this executable.
    static func isSupervisor(_ pid: pid_t) -> Bool {
        guard let st = ProcessTable.stat(of: pid), st.name.hasPrefix("swiftd: "),
              let theirs = try? FileSystem.status("/proc/\(pid)/exe"), let ours = try? FileSystem.status("/proc/self/exe") else { return false }
        return FileLocks.FileID(theirs) == FileLocks.FileID(ours)
    }
}
