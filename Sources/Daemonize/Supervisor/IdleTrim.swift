internal import Glibc

/// When a quiet supervisor gives back the resident pages startup or the last
/// burst of activity touched (see `ResidentMemory`): when it is about to
/// sleep with nothing due, at most every 10 s, waking once at the 10 s mark
/// when the last release was sooner. A supervisor that stays quiet releases
/// once and then sleeps without waking at all.
struct IdleTrim {
    static let interval: Int64 = 10_000_000_000

    private var last: Int64 = 0
    /// Something ran since the last release.
    private var wanted = true
    /// The mappings to release, found once: they do not change while the
    /// supervisor runs (the same binary, the same libraries).
    private var release: ResidentMemory.Release?

    /// The wait to use instead of `timeout` (milliseconds, negative for
    /// ever), and what to release before it, nil for nothing.
    mutating func plan(timeout: Int32, quiet: Bool) -> (timeout: Int32, release: ResidentMemory.Release?) {
        guard timeout < 0, quiet, wanted else { return (timeout, nil) }
        let now = Monotonic.now()
        guard now - last >= IdleTrim.interval else { return (Monotonic.millisecondsUntil(last + IdleTrim.interval), nil) }
        last = now
        wanted = false
        if release == nil { release = ResidentMemory.releasable() }
        return (-1, release)
    }

    /// After the wait: `events` descriptors were ready, and the wait had a
    /// deadline of its own (not the 10 s mark): either means something ran.
    mutating func after(events: Int, deadline: Bool) {
        if events > 0 || deadline { wanted = true }
    }
}
