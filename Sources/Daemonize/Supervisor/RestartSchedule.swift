internal import Glibc

/// What the supervisor does when its service exits: the respawn policy, the
/// exponential backoff and the start limit.
struct RestartSchedule {
    /// The outcome for one exit.
    enum Decision: Equatable {
        /// Do not respawn; the supervisor ends.
        case stop
        /// Respawn after `delay` nanoseconds; `requested` for a restart-exit-code exit.
        case respawn(delay: Int64, requested: Bool)
        /// The start limit is reached: give up with this record.
        case giveUp(String)
    }

    /// A run at least this long resets the backoff to `restart-delay`.
    static let stableRun: Int64 = 10_000_000_000

    let policy: ServiceConfiguration.RestartPolicy
    let delay: Interval
    let maxDelay: Interval
    let limit: ServiceConfiguration.StartLimit
    let requestCode: Int32?
    /// Respawns since the backoff was last reset.
    private(set) var consecutive = 0
    /// Monotonic times of counted starts.
    private(set) var starts: [Int64] = []

    init(_ c: ServiceConfiguration) {
        policy = c.restart
        delay = c.restartDelay
        maxDelay = c.restartMaxDelay
        limit = c.startLimit
        requestCode = c.restartExitCode
    }

    /// Records a start, the first one included: N/PERIOD allows N starts in
    /// all, so an exit after the Nth within PERIOD gives up. Only the last
    /// `limit.count` matter: however often the service restarts, this stays small.
    mutating func started(at now: Int64) {
        guard limit.count > 0 else { return }
        starts.append(now)
        if starts.count > limit.count { starts.removeFirst(starts.count - limit.count) }
    }

    /// Decides what follows an exit with `status` after a run of `ranFor` nanoseconds.
    mutating func decide(_ status: ExitStatus, ranFor: Int64, now: Int64) -> Decision {
        if let requestCode, status == .exited(requestCode) { return .respawn(delay: 0, requested: true) }
        if policy == .no { return .stop }
        if policy == .onFailure && status.isSuccess { return .stop }
        if ranFor >= RestartSchedule.stableRun { consecutive = 0 }
        if limit.count > 0 {
            starts.removeAll { now - $0 >= limit.period.nanoseconds }
            if starts.count >= limit.count {
                let last: String
                switch status {
                case .exited(let code): last = "last exit status \(code)"
                case .signaled(let signal, _): last = "last killed by signal \(signal.name)"
                }
                return .giveUp("failed: \(starts.count) starts in \(limit.period), \(last)")
            }
        }
        var wait = delay.nanoseconds
        for _ in 0..<consecutive where wait < maxDelay.nanoseconds { wait *= 2 }
        wait = min(wait, maxDelay.nanoseconds)
        consecutive += 1
        return .respawn(delay: wait, requested: false)
    }
}
