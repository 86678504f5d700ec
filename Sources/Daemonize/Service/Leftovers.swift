/// Processes left of a service whose supervisor (or, in exec mode, whose
/// main process) is gone: the members of the session the service led.
///
/// A session id stays allocated while any member lives, so while members are
/// found its number cannot have been reused; and a live process with the
/// recorded pid but another start time proves the pid was reused, in which
/// case nothing is touched.
enum Leftovers {
    /// The live members of the recorded service's session. Nothing unless
    /// the record has the service's start time; never pid 1, this process or
    /// its ancestors; and only processes that started no earlier than the
    /// service (a process older than the service cannot be of it).
    static func find(_ recorded: ServiceState) -> [pid_t] {
        guard let pid = recorded.pid, pid > 1, let start = recorded.pidStartTime else { return [] }
        let me = getpid()
        var ancestors: Set<pid_t> = [me]
        var current = me
        while let st = ProcessTable.stat(of: current), st.parent > 0, !ancestors.contains(st.parent) {
            ancestors.insert(st.parent)
            current = st.parent
        }
        guard !ancestors.contains(pid) else { return [] }
        if let st = ProcessTable.stat(of: pid), !st.isZombie, st.startTime != start { return [] }
        return ProcessTable.members(ofSession: pid).filter { member in
            guard member > 1, !ancestors.contains(member), let st = ProcessTable.stat(of: member) else { return false }
            return st.startTime >= start
        }
    }

    /// Sends `signal` to each of `pids` (through pidfds), SIGKILL after
    /// `timeout`, and waits until none is left (zombies count as gone).
    /// Returns true when all are gone.
    @discardableResult
    static func stop(_ recorded: ServiceState, signal: Signal, timeout: Interval) -> Bool {
        var handles: [ProcessHandle] = []
        for pid in find(recorded) {
            guard let handle = try? ProcessHandle.open(pid: pid) else { continue }
            // Re-check membership now that the pidfd pins the process.
            guard let st = ProcessTable.stat(of: pid), st.session == recorded.pid else { handle.close(); continue }
            try? handle.send(signal)
            try? handle.send(.continue)
            handles.append(handle)
        }
        defer { for h in handles { h.close() } }
        let deadline = Monotonic.now() + timeout.nanoseconds
        var killed = false
        var pause: Int64 = 1_000_000
        while true {
            handles.removeAll { h in
                if h.hasExited { return true }
                if let st = ProcessTable.stat(of: h.pid), st.isZombie { return true }
                return false
            }
            if handles.isEmpty { return find(recorded).isEmpty }
            if !killed && Monotonic.now() >= deadline {
                for h in handles { try? h.send(.kill) }
                killed = true
            } else if killed && Monotonic.now() >= deadline + 5_000_000_000 {
                return false
            }
            Monotonic.sleep(nanoseconds: pause)
            pause = min(pause * 2, 20_000_000)
        }
    }
}
