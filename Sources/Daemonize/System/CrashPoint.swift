internal import Glibc

/// A test hook, in debug builds only: with `SWIFTD_CRASH_POINT=NAME` in its
/// environment, a process stops itself (SIGSTOP) when it reaches the point
/// NAME, so that a test can kill it, or any other process, at exactly that
/// moment of the start sequence. Release builds compile it to nothing.
package enum CrashPoint {
    /// Marks the point `name`.
    @inline(__always)
    package static func reach(_ name: StaticString) {
        #if DEBUG
        if let wanted = getenv("SWIFTD_CRASH_POINT"), strcmp(wanted, name.utf8Start.withMemoryRebound(to: CChar.self, capacity: 1) { $0 }) == 0 {
            raise(SIGSTOP)
        }
        #endif
    }
}
