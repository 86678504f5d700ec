/// A stop under way: the supervisor was asked to stop its service and its
/// exit is awaited. `ServiceController.beginStop` makes one and `advance`
/// takes it on, so that a command stopping several services can wait for
/// all of their supervisors at once, on their pidfds, in one process (see
/// `swiftd stop NAME...`); `stop` of one name is the same two calls.
package struct PendingStop: Sendable {
    package let name: ServiceName
    /// The supervisor's pidfd: readable once it has exited.
    package let supervisor: ProcessHandle
    let plan: StopPlan
    /// When (`Monotonic.now()`) the supervisor is past its time: it is then
    /// killed and, once killed, given up on.
    package let deadline: Int64
    /// It did not answer in time and was killed.
    let killed: Bool

    /// What the supervisor is given beyond the stop plan's own time: the
    /// plan's steps are the service's, and recording the end takes a moment.
    static let grace: Int64 = 10_000_000_000
    /// How long a killed supervisor is waited for.
    static let afterKill: Int64 = 5_000_000_000
}

/// Where a stop is.
package enum StopProgress: Sendable {
    /// Over: the outcome to print.
    case done(ServiceController.Outcome)
    /// Waiting for the supervisor to exit.
    case waiting(PendingStop)
    /// Not begun, and nothing done: this stop would have to wait here (a
    /// service in exec mode, a lock held by another command, processes a
    /// dead supervisor left) and the caller asked it not to.
    case wouldWait
}
