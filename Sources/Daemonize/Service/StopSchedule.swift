internal import Glibc

/// How a service is asked to stop (`stop-signal`): one signal, or a
/// start-stop-daemon style schedule, `QUIT/5s/TERM/5s/KILL`: each signal,
/// then how long to wait for the service to be gone before the next one. A
/// last signal written without its wait waits `stop-timeout`; whatever the
/// schedule says, KILL to every process of the service ends it (see
/// `StopRequest.plan`).
package struct StopSchedule: Hashable, Sendable, CustomStringConvertible {
    /// One signal of the schedule and the wait after it (nil: the last
    /// signal, written without one).
    package struct Step: Hashable, Sendable {
        package var signal: ProcessSignal
        package var wait: Interval?
    }

    /// The most steps a schedule may have.
    static let maximumSteps = 16

    /// At least one step; only the last may have no wait.
    package private(set) var steps: [Step]

    /// One signal: the stop-timeout, then KILL.
    package init(_ signal: ProcessSignal) {
        steps = [Step(signal: signal, wait: nil)]
    }

    /// Parses "TERM", or "SIGNAL/WAIT/SIGNAL/WAIT..." ending with a signal
    /// or a wait (signals as `ProcessSignal(parsing:)`, waits as durations).
    package init?(parsing text: String) {
        let items = text.split(scalar: "/", omittingEmpty: false)
        guard !items.isEmpty, items.count <= 2 * StopSchedule.maximumSteps else { return nil }
        var steps: [Step] = []
        for (index, item) in items.enumerated() {
            if index % 2 == 0 {
                guard let signal = ProcessSignal(parsing: String(item)) else { return nil }
                steps.append(Step(signal: signal, wait: nil))
            } else {
                guard let wait = Interval(parsing: String(item)) else { return nil }
                steps[steps.count - 1].wait = wait
            }
        }
        self.steps = steps
    }

    /// The first signal: what the service is asked with, and what it gets
    /// when its supervisor dies (its parent-death signal).
    package var first: ProcessSignal { steps[0].signal }

    /// "TERM", "QUIT/5s/TERM/5s/KILL": as `init(parsing:)` reads it.
    package var description: String {
        steps.map { step in step.signal.name + (step.wait.map { "/\($0)" } ?? "") }.joined(separator: "/")
    }
}
