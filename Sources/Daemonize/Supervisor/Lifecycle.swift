internal import Glibc

/// Where a supervised service is in its life: the supervisor's one phase.
/// The phase its state file records is derived from it, never kept beside it.
struct Lifecycle: Equatable {
    /// What follows once every process of the service is gone.
    enum After: Equatable {
        /// The supervisor ends, recording this phase.
        case exit(ServiceState.Phase)
        /// The service is started again after this many nanoseconds.
        case respawn(delay: Int64)
        /// It failed: the supervisor waits for a change of a watched file.
        case wait
    }

    enum Phase: Equatable {
        /// The first start: waiting for min-uptime (`windowEnd`) or readiness (`timeout`).
        case starting(windowEnd: Int64?, timeout: Int64?)
        case running
        /// Waiting to respawn.
        case backoff(until: Int64)
        /// Stopping every process; the next step of the stop plan is due at
        /// `nextStepAt` (nil once the last, KILL, is sent).
        case stopping(nextStepAt: Int64?, after: After)
        /// It failed (its start, the start limit, a restart) and nothing of
        /// it runs: a change of a watched file starts it again, as nodemon does.
        case waiting
        /// Over: the supervisor records this and exits.
        case finished(ServiceState.Phase)
    }

    var phase: Phase = .starting(windowEnd: nil, timeout: nil)

    /// The phase the state file records: a stop on the way to a respawn is a restart.
    var recorded: ServiceState.Phase {
        switch phase {
        case .starting: return .starting
        case .running: return .running
        case .backoff, .stopping(_, .respawn): return .backoff
        case .stopping(_, .exit), .stopping(_, .wait): return .stopping
        case .waiting: return .waiting
        case .finished(let final): return final
        }
    }

    var isStarting: Bool {
        if case .starting = phase { return true }
        return false
    }

    var isStopping: Bool {
        if case .stopping = phase { return true }
        return false
    }

    /// The earliest moment something of the phase is due, nil for none.
    var deadline: Int64? {
        switch phase {
        case .starting(let window, let timeout): return [window, timeout].compactMap { $0 }.min()
        case .backoff(let until): return until
        case .stopping(let nextStepAt, _): return nextStepAt
        case .running, .waiting, .finished: return nil
        }
    }
}
