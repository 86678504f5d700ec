internal import Glibc

/// An inotify instance: watches on paths, and the events they produce, read
/// from a non-blocking, close-on-exec descriptor a poll loop can wait on.
struct Inotify {
    /// One event: the watch it came from, what happened, and the name inside a
    /// watched directory (empty for the watched object itself).
    struct Event {
        var watch: Int32
        var mask: UInt32
        var name: [UInt8]
    }

    let descriptor: FileDescriptor

    /// The corresponding C function is `inotify_init1`.
    init() throws {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        if fd < 0 { throw SystemError("inotify_init1") }
        descriptor = FileDescriptor(rawValue: fd)
    }

    /// Watches `path` for the events in `mask`; returns the watch descriptor.
    ///
    /// The corresponding C function is `inotify_add_watch`.
    func add(_ path: String, mask: UInt32) throws -> Int32 {
        let wd = path.withPlatformString { inotify_add_watch(descriptor.rawValue, $0, mask) }
        if wd < 0 { throw SystemError("inotify_add_watch", path: path) }
        return wd
    }

    /// Stops watch `wd` (a watch already gone is not an error).
    ///
    /// The corresponding C function is `inotify_rm_watch`.
    func remove(_ wd: Int32) {
        _ = inotify_rm_watch(descriptor.rawValue, wd)
    }

    /// Every event waiting now (none when the queue is empty), at most
    /// `limit` bytes' worth per call.
    func events(limit: Int = 65536) -> [Event] {
        var buffer = [UInt8](repeating: 0, count: limit)
        var result: [Event] = []
        while true {
            let n = (try? buffer.withUnsafeMutableBytes { try descriptor.read(into: $0) }) ?? 0
            if n <= 0 { break }
            var offset = 0
            while offset + 16 <= n {
                let wd = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int32.self) }
                let mask = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self) }
                let length = Int(buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self) })
                let name = Array(buffer[(offset + 16)..<min(n, offset + 16 + length)].prefix { $0 != 0 })
                result.append(Event(watch: wd, mask: mask, name: name))
                offset += 16 + length
            }
            if n < limit / 2 { break }
        }
        return result
    }

    /// Waits until an event arrives (for ever), for a reader with nothing else to do.
    func waitForEvents() {
        _ = try? descriptor.waitReadable(timeoutMilliseconds: -1)
    }

    func close() { descriptor.close() }
}
