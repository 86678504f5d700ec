internal import Glibc

/// The monotonic clock in nanoseconds, for deadlines and uptimes.
package enum Monotonic {
    /// Nanoseconds on `CLOCK_MONOTONIC`.
    ///
    /// The corresponding C function is `clock_gettime`.
    package static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Milliseconds from now until `deadline` (in `now()` nanoseconds), rounded
    /// up so that a poll does not wake just before it; 0 once passed.
    package static func millisecondsUntil(_ deadline: Int64) -> Int32 {
        let left = deadline - now()
        if left <= 0 { return 0 }
        return Int32(clamping: (left + 999_999) / 1_000_000)
    }

    /// Sleeps for `nanoseconds`, resuming after signals.
    ///
    /// The corresponding C function is `nanosleep`.
    package static func sleep(nanoseconds: Int64) {
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR {
            request = remaining
        }
    }
}

/// The wall clock, for timestamps people read.
package enum WallClock {
    /// "2026-11-21T22:32:01.123Z": now, in UTC, to the millisecond.
    ///
    /// The corresponding C function is `gmtime_r`.
    package static func rfc3339() -> String {
        let now = now()
        var seconds = time_t(now.seconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let millis = Int(now.nanoseconds / 1_000_000)
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
    }

    /// "Nov  2 09:04:05": now, in local time, as syslog(3) stamps a message.
    ///
    /// The corresponding C function is `localtime_r`.
    package static func syslogTimestamp() -> String {
        var seconds = time_t(now().seconds)
        var parts = tm()
        localtime_r(&seconds, &parts)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let day = parts.tm_mday < 10 ? " \(parts.tm_mday)" : "\(parts.tm_mday)"
        return "\(months[Int(parts.tm_mon) % 12]) \(day) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }

    /// Seconds and nanoseconds since the epoch on `CLOCK_REALTIME`.
    package static func now() -> (seconds: Int64, nanoseconds: Int64) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return (Int64(ts.tv_sec), Int64(ts.tv_nsec))
    }

    /// Seconds since the epoch as a floating-point number.
    package static func seconds() -> Double {
        let now = now()
        return Double(now.seconds) + Double(now.nanoseconds) / 1e9
    }
}
