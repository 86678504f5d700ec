import Glibc
import Daemonize

/// Sees a file being read: inotify's IN_CLOSE_NOWRITE for it, through its
/// directory (so a file replaced by a rename is still seen). The positive
/// marker a negative check waits for: a watcher that compares content reads
/// a watched file each time it looks, so "the service was not restarted"
/// is checked once the supervisor has looked, never after a fixed sleep.
///
/// Every reader counts, the test itself included: a test waits on a file
/// only the process it observes reads.
package final class FileReads {
    private let descriptor: Int32
    private let name: [UInt8]

    /// Starts watching `path` (its directory must exist).
    package init(_ path: String) throws {
        descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard descriptor >= 0 else { throw SystemError("inotify_init1") }
        name = Array(Path.fileName(of: path).utf8)
        // A failure from here on is closed by deinit.
        guard inotify_add_watch(descriptor, Path.directory(of: path), UInt32(IN_CLOSE_NOWRITE)) >= 0 else {
            throw SystemError("inotify_add_watch", path: Path.directory(of: path))
        }
    }

    deinit { close(descriptor) }

    /// Waits until the file has been read (opened, read or not, and closed)
    /// since the last call returned; false when `timeout` seconds pass first.
    package func wait(timeout: Double = 20) -> Bool {
        let deadline = Monotonic.now() + Int64(timeout * 1e9)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Monotonic.millisecondsUntil(deadline)) == 1 else { return false }
            let n = read(descriptor, &buffer, buffer.count)
            guard n > 0 else { continue }
            if events(buffer[0..<n]).contains(name) { return true }
        }
    }

    /// The names in a buffer of `struct inotify_event`s.
    private func events(_ bytes: ArraySlice<UInt8>) -> [[UInt8]] {
        var names: [[UInt8]] = []
        var offset = bytes.startIndex
        let header = MemoryLayout<inotify_event>.size
        while offset + header <= bytes.endIndex {
            let length = bytes[(offset + 12)..<(offset + 16)].reversed().reduce(0) { $0 << 8 | Int($1) }
            let field = bytes[(offset + header)..<min(bytes.endIndex, offset + header + length)]
            names.append(Array(field.prefix { $0 != 0 }))
            offset += header + length
        }
        return names
    }
}
