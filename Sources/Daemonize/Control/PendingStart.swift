/// A start under way: its supervisor was forked and its report is awaited,
/// then, when it failed, the supervisor's exit. `ServiceController.beginStart`
/// makes one and `advance` takes it on, so that a command starting several
/// services can wait for all of them at once, in one process, without a
/// swiftd of their own (see `swiftd start NAME...`); `start` of one name is
/// the same two calls.
package struct PendingStart {
    package let name: ServiceName
    let startup: Daemon.Startup
    /// Once the report said the start failed (or the supervisor died): the
    /// supervisor, whose exit is awaited so that nothing of the service runs
    /// when the start is over, and what to say then.
    let exiting: (supervisor: ProcessHandle, outcome: Daemon.Startup.Outcome)?

    /// Readable when `advance` has something to take: the report channel,
    /// then the exiting supervisor's pidfd.
    package var descriptor: FileDescriptor { exiting?.supervisor.descriptor ?? startup.descriptor }
}

/// Where a start is.
package enum StartProgress {
    /// Over: the outcome to print.
    case done(ServiceController.Outcome)
    /// Waiting for the supervisor's report, or for its exit after a failure.
    case waiting(PendingStart)
    /// Not begun, and nothing done: this start would have to wait here (a
    /// lock held by another command, processes a dead instance left to
    /// stop, exec mode) and the caller asked it not to.
    case wouldWait
}
