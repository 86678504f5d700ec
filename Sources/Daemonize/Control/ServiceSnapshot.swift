internal import Glibc

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
    /// The record, when there is one and it reads (boxed: see `ServiceState.Box`).
    private(set) var record: ServiceState.Box?
    var recorded: ServiceState? { record?.state }
    /// What is wrong with the record, when it does not read.
    var recordError: InvalidFile?

    /// Reads the pidfile and the record of `name`.
    /// - Throws: the error of a file that cannot be read at all (another
    ///   user's: `EACCES`, exit code 4); a malformed record is `recordError`.
    ///
    /// The pidfile is read first: a supervisor records its end before it
    /// removes its pidfile, so a record read afterwards is never older than
    /// the pidfile (no "its supervisor is gone" for one that just stopped).
    static func read(_ name: ServiceName, paths: ServicePaths) throws -> ServiceSnapshot {
        // An exec-mode start locks and writes its pid, then its record: a
        // pidfile ahead of its record is read again until the record catches up.
        let deadline = Monotonic.now() + 200_000_000
        while true {
            let snapshot = try readOnce(name, paths: paths)
            guard case .held(let pid?) = snapshot.lock, snapshot.record?.state.mode == .exec, snapshot.record?.state.pid != pid,
                  Monotonic.now() < deadline else { return snapshot }
            Monotonic.sleep(nanoseconds: 2_000_000)
        }
    }

    private static func readOnce(_ name: ServiceName, paths: ServicePaths) throws -> ServiceSnapshot {
        var snapshot = ServiceSnapshot(name: name, pidPath: paths.pidFile(name), lock: .absent)
        let pidfile = try PIDFile.Snapshot.read(snapshot.pidPath)
        do {
            snapshot.record = try ServiceState.read(paths.stateFile(name), name: name).map(ServiceState.Box.init)
        } catch let error as InvalidFile where error.problem == .malformed {
            snapshot.recordError = error
        }
        guard let pidfile else { return snapshot }
        snapshot.file = pidfile.file
        let pid = PIDFile.parsePID(pidfile.content)
        if !pidfile.locked {
            snapshot.lock = .free(pid: pid)
        } else if pidfile.othersCanOpen, case .process(let holder) = FileLocks.flockHolder(of: pidfile.file),
                  holder == nil || (holder != snapshot.record?.state.supervisorPID && holder != snapshot.record?.state.pid) {
            // A file others can open (left by an older swiftd, 0644): its lock
            // counts only when a process the record names took it.
            snapshot.lock = .untrusted(holder: holder)
        } else {
            snapshot.lock = .held(pid: pid)
        }
        return snapshot
    }

    /// Still locked, the same file naming the same pid, after `patience`
    /// nanoseconds: a command that locks the file to clear up truncates it
    /// within microseconds, so a lock that keeps naming the pid is not one.
    func stillHeldAsSeen(patience: Int64 = 50_000_000) -> Bool {
        guard case .held(let pid?) = lock else { return false }
        let deadline = Monotonic.now() + patience
        while true {
            guard let now = try? PIDFile.Snapshot.read(pidPath), now.locked, now.file == file, PIDFile.parsePID(now.content) == pid else { return false }
            if Monotonic.now() >= deadline { return true }
            Monotonic.sleep(nanoseconds: 5_000_000)
        }
    }

    var isExecMode: Bool {
        if let record { return record.state.mode == .exec }
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
            try checkPidfileNamesMain()
            if let handle = try main.open() { return handle }
            // Locked when looked at: still, now that the main process is gone?
            guard stillHeldAsSeen() else { return nil }
            throw ServiceError("\(name): its main process \(main.pid) exited; processes it left hold its lock (it put itself in the background?)",
                               code: ExitCode.failure)
        }
        if case .held(let pid?) = lock {
            guard let handle = try PIDFile.openProcess(at: pidPath, .recorded) else { return nil }
            let st = try ProcessTable.status(of: handle.pid)
            if let main = recorded?.main, main.pid == handle.pid, st?.startTime == main.startTime { return handle }
            if let st, let supervisor = try supervisor() {
                defer { supervisor.close() }
                if st.parent == supervisor.pid { return handle }
            }
            handle.close()
            // Gone meanwhile (it was stopping): nothing to refuse.
            guard stillHeldAsSeen(), st?.isZombie == false else { return nil }
            throw notTheService(pid)
        }
        // No lock: a removed pidfile, with its supervisor still alive.
        guard let main = recorded?.main, let supervisor = try supervisor() else { return nil }
        defer { supervisor.close() }
        askSupervisorToRestorePidfile()
        guard let handle = try main.open() else { return nil }
        if try ProcessTable.status(of: handle.pid)?.parent == supervisor.pid { return handle }
        handle.close()
        return nil
    }

    /// Exec mode: the locked pidfile names the recorded main process (only
    /// the service could have changed it, and its word is not taken).
    func checkPidfileNamesMain() throws {
        if case .held(let pid?) = lock, let main = recorded?.main, pid != main.pid { throw notTheService(pid) }
    }

    /// Exec mode: the processes holding the service's lock while the pidfile
    /// names its main process, with their start times: the service, and what
    /// it left in the background. Taken once, and only while the file stays
    /// the same, so that a command locking it later is never among them.
    func lockHolders() -> [RecordedProcess] {
        guard case .held(let pid?) = lock, pid == recorded?.pid, let file,
              let before = try? PIDFile.Snapshot.read(pidPath), before.locked, before.file == file else { return [] }
        // A swiftd command that has just locked the file to clear up has not
        // truncated it yet for a few microseconds: never one of the service's.
        let holders = FileLocks.holders(of: file).filter { !ServiceSnapshot.isCommand($0) }.compactMap { holder in
            ProcessTable.stat(of: holder).map { RecordedProcess(pid: holder, startTime: $0.startTime) }
        }
        guard let after = try? PIDFile.Snapshot.read(pidPath), after == before else { return [] }
        return holders
    }

    /// The pidfile is gone but its supervisor lives: ask it to put the file
    /// back (a queued SIGUSR2, through the pidfd of the recorded process).
    func askSupervisorToRestorePidfile() {
        switch lock {
        case .absent, .free: break
        case .held, .untrusted: return
        }
        guard !isExecMode, let supervisor = try? supervisor() else { return }
        defer { supervisor.close() }
        try? supervisor.send(.user2, value: Supervisor.restorePidfileRequest)
    }

    /// True while something of the service provably runs, lock or no lock.
    func isRunning() throws -> Bool {
        if case .held = lock { return true }
        return try recorded?.liveInstance() != nil
    }

    private func notTheService(_ pid: pid_t) -> ServiceError {
        ServiceError("\(name): " + Wording.namesAnotherProcess(pidPath, pid: pid, of: name), code: ExitCode.failure)
    }

    /// A swiftd supervisor: named "swiftd: ..." and running this executable.
    static func isSupervisor(_ pid: pid_t) -> Bool {
        guard let st = ProcessTable.stat(of: pid), st.name.hasPrefix("swiftd: ") else { return false }
        return runsThisExecutable(pid)
    }

    /// A swiftd command (start, stop...): named "swiftd" and running this executable.
    static func isCommand(_ pid: pid_t) -> Bool {
        guard let st = ProcessTable.stat(of: pid), st.name == "swiftd" else { return false }
        return runsThisExecutable(pid)
    }

    private static func runsThisExecutable(_ pid: pid_t) -> Bool {
        guard let theirs = (try? FileSystem.status("/proc/\(pid)/exe")) ?? nil, let ours = (try? FileSystem.status("/proc/self/exe")) ?? nil else { return false }
        return FileLocks.FileID(theirs) == FileLocks.FileID(ours)
    }
}
