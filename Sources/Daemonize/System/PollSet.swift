internal import Glibc
internal import CDaemonize

/// The descriptors an event loop waits on, each with a tag of the caller's:
/// `wait` returns the tags whose descriptor is ready, in the order they were
/// added. Built anew for every turn of a loop (descriptors come and go).
package struct PollSet<Tag> {
    private var fds: [pollfd] = []
    private var tags: [Tag] = []

    /// Waits on `fd` for input, or for room to write with `writable`.
    package init() {}

    package mutating func add(_ fd: FileDescriptor, _ tag: Tag, writable: Bool = false) {
        fds.append(pollfd(fd: fd.rawValue, events: Int16(writable ? POLLOUT : POLLIN), revents: 0))
        tags.append(tag)
    }

    /// Waits until a descriptor is ready or `timeoutMilliseconds` pass
    /// (negative: for ever). With `releasing`, first gives back those memory
    /// ranges, the free heap and, with `stackStart` (where the stack mapping
    /// starts), the stack below the waiting frame, in the same C call that
    /// then sleeps, so that no code runs in between to fault pages back (see
    /// `ResidentMemory`). Returns the ready tags; none on a timeout or an
    /// interruption.
    ///
    /// The corresponding C functions are `poll`, `madvise` and `malloc_trim`.
    package mutating func wait(timeoutMilliseconds: Int32, releasing ranges: [UInt]? = nil, stackStart: UInt = 0) -> [Tag] {
        let count: Int32
        if let ranges {
            _ = dz_malloc_trim()
            count = ranges.withUnsafeBufferPointer { r in
                fds.withUnsafeMutableBufferPointer { f in
                    dz_release_and_poll(r.baseAddress, Int32(r.count / 2), stackStart, f.baseAddress, UInt(f.count), timeoutMilliseconds)
                }
            }
        } else {
            count = poll(&fds, nfds_t(fds.count), timeoutMilliseconds)
        }
        // A failure other than an interruption cannot be waited out: not a busy loop.
        if count < 0 && errno != EINTR { Monotonic.sleep(nanoseconds: 10_000_000) }
        guard count > 0 else { return [] }
        return zip(fds, tags).filter { $0.0.revents != 0 }.map(\.1)
    }
}
