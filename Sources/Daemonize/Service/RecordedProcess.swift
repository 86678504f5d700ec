internal import Glibc

/// A process as a record names it: its pid and its start time (clock ticks
/// since boot, `/proc/PID/stat` field 22), which together name one process
/// for ever. Opening it yields a pidfd for that very process only, and only
/// while it has not exited: a zombie, a reused pid or pid 1 yields nothing.
struct RecordedProcess: Hashable, Sendable {
    var pid: pid_t
    var startTime: UInt64

    /// A pidfd for the recorded process while it lives; nil when it is gone.
    /// - Throws: `SystemError` when that cannot be told (no descriptor left,
    ///   /proc unreadable): an error is never taken for "gone".
    func open() throws -> ProcessHandle? {
        guard pid > 1, pid != CurrentProcess.id else { return nil }
        let handle: ProcessHandle
        do {
            handle = try ProcessHandle.open(pid: pid)
        } catch let error as SystemError where error.errno == .noSuchProcess {
            return nil
        }
        // The pidfd now pins one process; its start time says whether it is ours.
        do {
            guard let st = try ProcessTable.status(of: pid), st.startTime == startTime, !st.isZombie, !handle.hasExited else {
                handle.close()
                return nil
            }
        } catch {
            handle.close()
            throw error
        }
        return handle
    }

    /// True while the recorded process lives (see `open`).
    func isAlive() throws -> Bool {
        guard let handle = try open() else { return false }
        handle.close()
        return true
    }
}
