internal import Glibc

/// The watchdog (`--watchdog`): a service that said READY=1 must send
/// WATCHDOG=1 at least once per interval; one that falls silent is hung,
/// and is killed (SIGABRT, as systemd's `WatchdogSignal=`, then SIGKILL
/// after the stop timeout) so that the restart policy respawns it.
struct Watchdog: Equatable {
    /// When the next WATCHDOG=1 is due; nil while not armed.
    var due: Int64?
    /// When the main process, sent SIGABRT, gets SIGKILL.
    var killAt: Int64?

    var deadline: Int64? { [due, killAt].compactMap { $0 }.min() }
}

extension Supervisor {
    /// READY=1 or WATCHDOG=1: the next one is due an interval from now.
    func armWatchdog() {
        guard let interval = configuration.watchdog, main != nil, watchdog.killAt == nil else { return }
        watchdog.due = Monotonic.now() + interval.nanoseconds
    }

    func watchdogDue(now: Int64) {
        if let killAt = watchdog.killAt, now >= killAt {
            watchdog.killAt = nil
            log.note("\(configuration.name) did not end after SIGABRT: sending KILL")
            forward(.kill)
        } else if let due = watchdog.due, now >= due {
            watchdogExpired()
        }
    }

    /// The service missed its WATCHDOG=1 (or sent WATCHDOG=trigger).
    func watchdogExpired() {
        guard main != nil, lifecycle.phase == .running, let interval = configuration.watchdog else { return }
        log.note("\(configuration.name) sent no WATCHDOG=1 within \(interval): killing it (ABRT)")
        state.failure = "watchdog: no WATCHDOG=1 within \(interval)"
        save()
        watchdog = Watchdog(due: nil, killAt: Monotonic.now() + configuration.stopTimeout.nanoseconds)
        forward(.abort)
    }
}
