internal import Glibc

/// The supervisor's descendants, found through `/proc/PID/task/*/children`
/// and signalled through pidfds: a pid is signalled only after its pidfd was
/// taken and its parent checked, so a reused pid is never hit.
enum ProcessTree {
    /// Every descendant of `root`, parents before children, zombies left out.
    static func descendants(of root: pid_t) -> [pid_t] {
        var result: [pid_t] = []
        // Each process's stat line says how many threads it has: with one,
        // its children are in one file, read without listing its tasks.
        var queue: [(pid: pid_t, threads: Int?)] = [(root, nil)]
        var seen: Set<pid_t> = [root]
        var next = 0
        while next < queue.count {
            let parent = queue[next]
            next += 1
            for child in ProcessTable.children(of: parent.pid, threads: parent.threads) where !seen.contains(child) {
                seen.insert(child)
                let st = ProcessTable.stat(of: child)
                if let st, st.isZombie { continue }
                result.append(child)
                queue.append((child, st?.threads))
            }
        }
        return result
    }

    /// `descendants(of:)`, walked again until two walks agree: one walk can
    /// miss a process handed over to `root` (a subreaper) while its parent
    /// exits (the parent's children are read once it has none left).
    static func settledDescendants(of root: pid_t) -> [pid_t] {
        var last = descendants(of: root)
        for _ in 0..<8 {
            let again = descendants(of: root)
            if again == last { return again }
            last = again
        }
        return last
    }

    /// True when `pid` is `root` or one of its descendants (by the parent chain).
    static func isDescendant(_ pid: pid_t, of root: pid_t) -> Bool {
        var current = pid
        for _ in 0..<512 {
            if current == root { return true }
            guard current > 1, let st = ProcessTable.stat(of: current) else { return false }
            current = st.parent
        }
        return false
    }

    /// The live descendants of `root` in session `session`.
    static func descendants(of root: pid_t, inSession session: pid_t) -> [pid_t] {
        descendants(of: root).filter { ProcessTable.stat(of: $0)?.session == session }
    }

    /// Sends `signal` to every live descendant of `root` not in `skip` (and
    /// in `session`, when one is given); returns the pids signalled.
    @discardableResult
    static func signalDescendants(of root: pid_t, _ signal: ProcessSignal, skip: Set<pid_t> = [], session: pid_t? = nil) -> [pid_t] {
        let targets = session.map { descendants(of: root, inSession: $0) } ?? descendants(of: root)
        return send(signal, to: targets.filter { !skip.contains($0) }, under: root)
    }

    /// Sends `signal` to the direct children of `root` not in `skip` (one read
    /// of its `children` files, not a walk of the tree); returns the pids
    /// signalled. For a subreaper: its orphans adopted since it last walked.
    @discardableResult
    static func signalChildren(of root: pid_t, _ signal: ProcessSignal, skip: Set<pid_t>) -> [pid_t] {
        send(signal, to: ProcessTable.children(of: root).filter { !skip.contains($0) }, under: root)
    }

    /// Sends `signal` to each of `pids` that is still a descendant of `root`
    /// once its pidfd is taken; returns the pids signalled.
    private static func send(_ signal: ProcessSignal, to pids: [pid_t], under root: pid_t) -> [pid_t] {
        var sent: [pid_t] = []
        for pid in pids {
            guard let handle = try? ProcessHandle.open(pid: pid) else { continue }
            defer { handle.close() }
            // The pidfd is taken: if the pid is still our descendant now, the
            // handle names that process, not a newcomer with a reused pid.
            guard isDescendant(pid, of: root) else { continue }
            if (try? handle.send(signal)) != nil { sent.append(pid) }
            if signal != .kill && signal != .continue { try? handle.send(.continue) }
        }
        return sent
    }
}
