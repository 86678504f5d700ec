internal import Glibc

/// A stop, from the request to the signals: how `stop --signal S --timeout D`
/// reaches a supervisor (as the payload of a queued SIGTERM, so that one
/// signal carries the whole request and no file or socket is needed), and
/// the plan every stopper follows (the supervisor, and `stop` itself for an
/// exec-mode service or what a dead supervisor left): the configured
/// schedule with the request's overrides, ending with KILL to everything.
package enum StopRequest {
    /// The payload for a stop with these overrides; nil when there are none
    /// (a plain SIGTERM then asks for the configured stop).
    package static func encode(signal: ProcessSignal?, timeout: Interval?) -> Int64? {
        guard signal != nil || timeout != nil else { return nil }
        let sig = Int64(signal?.rawValue ?? 0) & 0xff
        let ms = timeout.map { min($0.milliseconds, Int64(1) << 50) + 1 } ?? 0
        return (ms << 8) | sig
    }

    /// The overrides a payload carries.
    package static func decode(_ value: Int64) -> (signal: ProcessSignal?, timeout: Interval?) {
        let sig = Int32(value & 0xff)
        let ms = value >> 8
        let signal = ProcessSignal(number: sig)
        return (signal, ms > 0 ? .milliseconds(ms - 1) : nil)
    }

    /// The steps of a stop of `configuration`'s service:
    /// - its `stop-signal` schedule; a last signal written without a wait
    ///   waits `stop-timeout`;
    /// - `signal` (`stop --signal`) replaces the schedule with that one signal;
    /// - `timeout` (`stop --timeout`) is when KILL comes at the latest, and
    ///   the wait of a last signal written without one;
    /// - with `kill-mode = main`, the first signal goes to the main process
    ///   only, the later ones to every process;
    /// - KILL to every process always ends it, then the stopper waits until
    ///   none is left.
    package static func plan(_ configuration: ServiceConfiguration, signal: ProcessSignal? = nil, timeout: Interval? = nil) -> StopPlan {
        let schedule = signal.map(StopSchedule.init) ?? configuration.stopSchedule
        let lastWait = timeout ?? configuration.stopTimeout
        var steps: [StopPlan.Step] = []
        var elapsed: Int64 = 0
        // A KILL in the schedule ends it: what follows could never be sent.
        for step in schedule.steps.prefix(while: { $0.signal != .kill }) {
            if let timeout, elapsed >= timeout.nanoseconds, !steps.isEmpty { break }
            var wait = (step.wait ?? lastWait).nanoseconds
            if let timeout { wait = min(wait, max(0, timeout.nanoseconds - elapsed)) }
            steps.append(StopPlan.Step(signal: step.signal, wait: Interval(nanoseconds: wait), everyone: true))
            elapsed += wait
        }
        if configuration.killMode == .main, !steps.isEmpty { steps[0].everyone = false }
        steps.append(StopPlan.Step(signal: .kill, wait: nil, everyone: true))
        return StopPlan(steps: steps)
    }
}

/// What a stopper does, step by step: each signal, to the main process only
/// or to every process of the service, then how long it waits for them to be
/// gone before the next step. The last step is always KILL to every process,
/// with no wait: the stopper waits until none is left.
package struct StopPlan: Equatable, Sendable {
    package struct Step: Equatable, Sendable {
        package var signal: ProcessSignal
        /// Nil for the last step (KILL).
        package var wait: Interval?
        /// False: the main process only (`kill-mode = main`, first step).
        package var everyone: Bool
    }

    package var steps: [Step]

    /// Only KILL, to everything.
    package static let kill = StopPlan(steps: [Step(signal: .kill, wait: nil, everyone: true)])

    /// How long the steps before KILL wait in all.
    package var total: Interval {
        Interval(nanoseconds: steps.compactMap(\.wait).reduce(0) { $0 + $1.nanoseconds })
    }
}
