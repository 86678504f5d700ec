internal import Glibc

/// A forking daemon's start (`pidfile`): from the launch of its command
/// until FILE names the process it left, which then becomes the main one.
struct DaemonStart {
    /// FILE before the command ran.
    let before: DaemonPIDFile.Version?
    /// The command's first process, until it exits 0.
    var firstPID: pid_t?
    /// The start fails at this moment (`ready-timeout` after the launch).
    let deadline: Int64
    /// When FILE is read next, once the first process has exited.
    var nextCheck: Int64?
    var pause: Int64 = 2_000_000
    /// Why FILE named no process to adopt at the last read.
    var problem = ""
    /// The last read's refusal: a refusal read twice in a row fails the
    /// start (once could be a file caught while being written).
    var refusal: String?
    /// The last read found no process of the service left.
    var nothingLeft = false

    var dueAt: Int64 { min(deadline, nextCheck ?? deadline) }
}

extension Supervisor {
    /// What FILE names, as far as this supervisor can tell.
    enum DaemonCandidate {
        case adopt(ProcessHandle)
        case wait(String)
        case refuse(String)
    }

    /// The command of a forking daemon runs: its first process is the main
    /// one until it exits.
    func awaitDaemon(firstPID: pid_t, before: DaemonPIDFile.Version?, initial: Bool, now: Int64) {
        daemonStart = DaemonStart(before: before, firstPID: firstPID, deadline: now + configuration.readyTimeout.nanoseconds)
        lifecycle.phase = initial ? .starting(windowEnd: nil, timeout: nil) : .running
        save()
    }

    /// Its first process exited 0: from now on FILE is read until it names
    /// the process the command left.
    func daemonCommandExited() {
        daemonStart?.firstPID = nil
        checkDaemonPIDFile(now: Monotonic.now())
    }

    /// Reads FILE and adopts the process it names when that is a process of
    /// the service (a child of this supervisor, its subreaper); otherwise
    /// waits, or fails the start when FILE names another process twice, when
    /// no process of the service is left, or at the ready timeout.
    func checkDaemonPIDFile(now: Int64) {
        guard var start = daemonStart, let daemonPIDFile else { return }
        if let first = start.firstPID {
            if now >= start.deadline { daemonStartFailed(Wording.daemonStayedInForeground(pid: first, within: configuration.readyTimeout)) }
            return
        }
        var refusal: String?
        switch daemonPIDFile.read(since: start.before) {
        case .pid(let pid):
            switch candidate(pid, file: daemonPIDFile.path) {
            case .adopt(let handle): return adoptDaemon(handle, now: now)
            case .wait(let reason): start.problem = Wording.daemonPIDFileProblem(daemonPIDFile.path, reason)
            case .refuse(let reason): refusal = reason
            }
        case .notWritten(let reason): start.problem = Wording.daemonPIDFileProblem(daemonPIDFile.path, reason)
        case .refused(let reason): refusal = Wording.daemonPIDFileProblem(daemonPIDFile.path, reason)
        }
        if let refusal {
            if refusal == start.refusal { return daemonStartFailed(refusal) }
            start.problem = refusal
        }
        start.refusal = refusal
        // Nothing left, twice in a row: a walk of /proc can miss a daemon
        // while its parent exits and it is handed over to this supervisor.
        let nothingLeft = ProcessTree.settledDescendants(of: selfPID).isEmpty
        if nothingLeft && start.nothingLeft { return daemonStartFailed(Wording.daemonLeftNothing(start.problem)) }
        start.nothingLeft = nothingLeft
        if now >= start.deadline {
            return daemonStartFailed(Wording.daemonPIDFileLate(start.problem, within: configuration.readyTimeout))
        }
        start.nextCheck = now + start.pause
        start.pause = min(start.pause * 2, 50_000_000)
        daemonStart = start
    }

    /// Whether `pid`, read from `file`, is a process of the service this
    /// supervisor may adopt: never pid 1 or itself, never a process outside
    /// its tree, and only once it is its own child (a daemon that forked
    /// twice is waited for until its parent is gone, so that its exit is
    /// this supervisor's to see).
    func candidate(_ pid: pid_t, file: String) -> DaemonCandidate {
        let another = Wording.namesAnotherProcess(file, pid: pid, of: configuration.name)
        if pid <= 1 || pid == selfPID { return .refuse(another) }
        let notRunning = "it names pid \(pid), which is not running"
        guard let st = ProcessTable.stat(of: pid), !st.isZombie else { return .wait(notRunning) }
        guard ProcessTree.isDescendant(pid, of: selfPID) else { return .refuse(another) }
        guard st.parent == selfPID else { return .wait("it names pid \(pid), whose parent (pid \(st.parent)) has not exited yet") }
        guard let handle = try? ProcessHandle.open(pid: pid) else { return .wait(notRunning) }
        // The pidfd now pins one process: still this supervisor's child, it is the one FILE named.
        guard let now = ProcessTable.stat(of: pid), now.parent == selfPID, !now.isZombie else {
            handle.close()
            return .wait(notRunning)
        }
        return .adopt(handle)
    }

    /// The process FILE named is the service's main process from now on.
    private func adoptDaemon(_ handle: ProcessHandle, now: Int64) {
        daemonStart = nil
        main = handle
        output.serviceStarted(pid: handle.pid)
        mainStart = now
        heir = nil
        state.pid = handle.pid
        state.pidStartTime = ProcessTable.stat(of: handle.pid)?.startTime
        do {
            try pidFile?.write(pid: handle.pid)
        } catch {
            log.note("\(configuration.name): cannot write the pidfile: \(error)")
            return daemonStartFailed("cannot write the pidfile: \(error)")
        }
        routine(Wording.started(configuration.name, pid: handle.pid))
        guard lifecycle.isStarting else { return save() }
        if configuration.minUptime.nanoseconds == 0 { return reportReady() }
        lifecycle.phase = .starting(windowEnd: now + configuration.minUptime.nanoseconds, timeout: nil)
        save()
    }

    /// The first start fails; a respawn's failure ends the supervision (a
    /// daemon that cannot be found is not restarted blindly).
    private func daemonStartFailed(_ reason: String) {
        daemonStart = nil
        if lifecycle.isStarting { return startFailed(reason, code: ExitCode.failure) }
        log.note("\(configuration.name) " + Wording.failedToStart(reason))
        state.failure = Wording.failedToStart(reason)
        beginStop(after: .exit(.failed))
    }
}
