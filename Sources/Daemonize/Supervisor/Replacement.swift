internal import Glibc

/// A restart in place (`listen`, `restart-mode = overlap`): the supervisor,
/// its pidfile and its sockets stay; the instance is replaced.
///
/// - stop-first: the old instance is stopped (`stopping`), then the new one
///   starts as the main process and is waited for (`starting`).
/// - overlap: the new one starts beside the old (`successor`) and is waited
///   for (`starting`); once ready it becomes the main process and the old
///   one is retired (`Retirement`). If it fails first, the old one goes on.
struct Replacement {
    enum Stage: Equatable {
        /// stop-first: the old instance is being stopped.
        case stopping
        /// The new instance `pid` runs, not yet ready: ready once `windowEnd`
        /// passes (min-uptime) or once it says so; failed at `timeout`.
        case starting(pid: pid_t, windowEnd: Int64?, timeout: Int64?)
        /// overlap: the new instance was ready at `readyAt`; it takes over
        /// once it is still up at `until` (`settle`).
        case settling(pid: pid_t, readyAt: Int64, until: Int64)
    }

    var stage: Stage
    /// overlap: the new instance, running beside the main process.
    var successor: ProcessHandle?
    var successorStart: Int64 = 0

    /// The new instance's readiness window for `configuration`, from `now`.
    static func starting(_ pid: pid_t, _ configuration: ServiceConfiguration, now: Int64) -> Stage {
        configuration.ready == .exec
            ? .starting(pid: pid, windowEnd: now + configuration.minUptime.nanoseconds, timeout: nil)
            : .starting(pid: pid, windowEnd: nil, timeout: now + configuration.readyTimeout.nanoseconds)
    }

    /// When something of it is due.
    var deadline: Int64? {
        switch stage {
        case .starting(_, let window, let timeout): return [window, timeout].compactMap { $0 }.min()
        case .settling(_, _, let until): return until
        case .stopping: return nil
        }
    }

    /// The pid of the new instance while it is waited for (ready or settling).
    var startingPID: pid_t? {
        switch stage {
        case .starting(let pid, _, _), .settling(let pid, _, _): return pid
        case .stopping: return nil
        }
    }

    /// Why the new instance failed when it ended with `status` at `now`.
    func exitReason(_ status: ExitStatus, now: Int64) -> String {
        guard case .settling(_, let readyAt, let until) = stage else { return "\(status) before it was ready" }
        let settle = Interval(nanoseconds: until - readyAt)
        return "\(status) \(Interval(nanoseconds: now - readyAt).approximate) after it was ready, within its settle time (\(settle))"
    }
}

/// An instance stopped while the service goes on: the old one once an
/// overlapping one is ready, or a new one that did not become ready. Its
/// processes are its main process and the supervisor's descendants in its
/// session (the main process's pid: a session's id is not reused while a
/// process is in it). It follows the service's stop plan.
struct Retirement {
    let main: ProcessHandle
    var mainExited: Bool
    var plan: StopPlan
    var step = 0
    var nextStepAt: Int64?
    var signalled: Set<pid_t> = []

    var session: pid_t { main.pid }
}
