internal import Glibc

/// The processes of a service that no supervisor watches over any more (its
/// supervisor died, or it runs in exec mode): the members of the session its
/// main process led (or, for a daemon adopted from its pidfile, is in), and,
/// in exec mode, the processes that held its lock when the pidfile named it
/// (the read-only descriptor only the service was given: a daemon that put
/// itself in the background keeps it) with the sessions they lead. Those are taken once, by the caller: a process that
/// locks the file later (another command) is never one of them.
///
/// A process with the recorded pid but another start time (alive, or exited
/// and not yet reaped) proves the pid was reused, in which case nothing is
/// touched. A session number stays taken while any member lives, but once
/// every process of the service's session is gone the number can go to a new
/// session (the pid space wraps): the session the main process led counts
/// only while something proves it is still the service's
/// (`sessionIsTheServices`). Its members without that proof are left alone
/// and named (`unproven`).
enum Leftovers {
    /// The live processes of the recorded service. Nothing unless the record
    /// has the service's start time; never pid 1, this process or its
    /// ancestors; and only processes that started no earlier than the service
    /// (a process older than the service cannot be of it).
    ///
    /// - Parameters:
    ///   - holders: exec mode: the processes that held the service's lock (see `ServiceSnapshot.lockHolders`).
    ///   - adopted: the caller is the subreaper of the service's orphans (the
    ///     start command while it waits): its descendants are the service's too.
    static func find(_ recorded: ServiceState, holders: [RecordedProcess] = [], adopted: Bool = false) -> [pid_t] {
        census(recorded, holders: holders, adopted: adopted).proven
    }

    /// The live members of the session the recorded main process led that
    /// nothing proves to be the service's (see `sessionIsTheServices`): never
    /// signalled, named to the user instead.
    static func unproven(_ recorded: ServiceState, holders: [RecordedProcess] = []) -> [pid_t] {
        census(recorded, holders: holders, adopted: false).unproven
    }

    private static func census(_ recorded: ServiceState, holders: [RecordedProcess], adopted: Bool) -> (proven: [pid_t], unproven: [pid_t]) {
        guard let pid = recorded.pid, pid > 1, let start = recorded.pidStartTime else { return ([], []) }
        let excluded = callerAndAncestors()
        guard !excluded.contains(pid) else { return ([], []) }
        let main = ProcessTable.stat(of: pid)
        // Another process, alive or not yet reaped, holds the number.
        if let main, main.startTime != start { return ([], []) }
        let leaders = liveHolders(holders)
        var found = ProcessTable.members(ofSession: pid)
        var unproven: [pid_t] = []
        if !sessionIsTheServices(pid, start: start, main: main, members: found, leaders: leaders, seen: recorded.mainSeen) {
            unproven = found
            found = []
        }
        if let session = mainSession(recorded) { found += ProcessTable.members(ofSession: session).filter { !found.contains($0) } }
        for holder in leaders {
            found += ([holder] + (holder == pid ? [] : ProcessTable.members(ofSession: holder))).filter { !found.contains($0) }
        }
        if adopted { found += ProcessTree.descendants(of: CurrentProcess.id).filter { !found.contains($0) } }
        let mayBeOfIt = { (member: pid_t) -> Bool in
            guard member > 1, !excluded.contains(member), let st = ProcessTable.stat(of: member), !st.isZombie else { return false }
            return st.startTime >= start
        }
        return (found.filter(mayBeOfIt), unproven.filter { mayBeOfIt($0) && !found.contains($0) })
    }

    /// Whether the session numbered `pid` is still the one the recorded main
    /// process made. It is while that process holds the pid (alive, or exited
    /// and not yet reaped: its start time says it is the one), or while a
    /// lock holder proven to be the service's is in it: a session number is
    /// never two sessions' at once. Otherwise only a member that started no
    /// later than the record last saw the main process holding its pid
    /// (`mainSeen`) proves it: that member has been in the session since then
    /// (a process leaves a session only for one numbered after itself), and so
    /// kept the number taken. Without that, every process of the service's
    /// session may have gone and the number gone to a stranger's session.
    private static func sessionIsTheServices(_ pid: pid_t, start: UInt64, main: ProcessStat?, members: [pid_t], leaders: [pid_t],
                                             seen: UInt64?) -> Bool {
        if let main, main.startTime == start { return true }
        if leaders.contains(where: { ProcessTable.stat(of: $0)?.session == pid }) { return true }
        guard let seen, let oldest = members.compactMap({ ProcessTable.stat(of: $0)?.startTime }).min() else { return false }
        return oldest <= seen
    }

    /// Follows `plan` (see `StopRequest.plan`) for the processes of the
    /// recorded service (through pidfds): each step's signal to the recorded
    /// main process, or to every process, then its wait; after KILL, waits
    /// until none is left (zombies count as gone). Processes that appear
    /// meanwhile (forked by the ones being stopped) get the step's signal
    /// too. Returns true when all are gone.
    @discardableResult
    static func stop(_ recorded: ServiceState, plan: StopPlan, holders: [RecordedProcess] = [], adopted: Bool = false) -> Bool {
        var handles: [pid_t: ProcessHandle] = [:]
        defer { for h in handles.values { h.close() } }
        var plan = plan
        var firstRound = true
        var step = 0
        var sent: Set<pid_t> = []
        var stepEnds = Monotonic.now() + (plan.steps[0].wait?.nanoseconds ?? 5_000_000_000)
        var pause: Int64 = 1_000_000
        while true {
            for pid in find(recorded, holders: holders, adopted: adopted) where handles[pid] == nil {
                guard let handle = try? ProcessHandle.open(pid: pid) else { continue }
                // Re-check membership now that the pidfd pins the process.
                guard belongs(pid, to: recorded, holders: holders, adopted: adopted) else { handle.close(); continue }
                handles[pid] = handle
            }
            if firstRound, let main = recorded.pid, handles[main] == nil {
                // A step meant for a main process that is already gone would reach nobody.
                plan.steps[0].everyone = true
            }
            firstRound = false
            signal(handles, plan.steps[step], main: recorded.pid, sent: &sent)
            for (pid, h) in handles where h.hasExited || ProcessTable.stat(of: pid)?.isZombie ?? true {
                h.close()
                handles[pid] = nil
            }
            if handles.isEmpty && find(recorded, holders: holders, adopted: adopted).isEmpty { return true }
            if Monotonic.now() >= stepEnds {
                // Past the last step's wait for the dead to go: give up.
                guard step + 1 < plan.steps.count else { return false }
                step += 1
                sent = []
                stepEnds = Monotonic.now() + (plan.steps[step].wait?.nanoseconds ?? 5_000_000_000)
                continue
            }
            Monotonic.sleep(nanoseconds: pause)
            pause = min(pause * 2, 20_000_000)
        }
    }

    /// A step's signal to each process it is for (the main one only, or
    /// all) that has not had it yet.
    private static func signal(_ handles: [pid_t: ProcessHandle], _ step: StopPlan.Step, main: pid_t?, sent: inout Set<pid_t>) {
        for (pid, handle) in handles where !sent.contains(pid) && (step.everyone || pid == main) {
            try? handle.send(step.signal)
            if step.signal != .kill { try? handle.send(.continue) }
            sent.insert(pid)
        }
    }

    private static func belongs(_ pid: pid_t, to recorded: ServiceState, holders: [RecordedProcess], adopted: Bool) -> Bool {
        guard let st = ProcessTable.stat(of: pid), let start = recorded.pidStartTime, st.startTime >= start else { return false }
        if st.session == recorded.pid || st.session == mainSession(recorded) { return true }
        let leaders = liveHolders(holders)
        if leaders.contains(pid) || leaders.contains(st.session) { return true }
        return adopted && ProcessTree.isDescendant(pid, of: CurrentProcess.id)
    }

    /// The session of the recorded main process, when it lives as recorded
    /// and is not its leader: a daemon adopted from its pidfile (`pidfile`)
    /// that forked again after `setsid`. Its session was made by a process
    /// of the service, so every member is one (no process can join a session
    /// it was not born in).
    private static func mainSession(_ recorded: ServiceState) -> pid_t? {
        guard let pid = recorded.pid, let start = recorded.pidStartTime, let st = ProcessTable.stat(of: pid), !st.isZombie,
              st.startTime == start, st.session > 1, st.session != pid else { return nil }
        return st.session
    }

    /// The holders still alive as recorded (pid and start time).
    private static func liveHolders(_ holders: [RecordedProcess]) -> [pid_t] {
        holders.filter { holder in
            guard let st = ProcessTable.stat(of: holder.pid) else { return false }
            return st.startTime == holder.startTime && !st.isZombie
        }.map(\.pid)
    }

    private static func callerAndAncestors() -> Set<pid_t> {
        var result: Set<pid_t> = [CurrentProcess.id, 1]
        var current = CurrentProcess.id
        while let st = ProcessTable.stat(of: current), st.parent > 0, !result.contains(st.parent) {
            result.insert(st.parent)
            current = st.parent
        }
        return result
    }
}
