import Glibc

/// Sees a file being read: inotify's IN_CLOSE_NOWRITE for it, through its
/// directory. A watcher that compares content reads the file each time it
/// looks: "nothing was reloaded" is checked once it has looked, never after
/// a fixed sleep. (The main package's Tests/TestSupport/FileReads.swift,
/// which this package cannot reach.) Every reader counts: wait on a file
/// only the observed program reads.
final class FileReads {
    private let descriptor: Int32
    private let name: [UInt8]

    /// Nil when inotify cannot watch `path`'s directory.
    init?(_ path: String) {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        name = Array(path[path.index(after: slash)...].utf8)
        guard descriptor >= 0 else { return nil }
        // A failure from here on is closed by deinit.
        guard inotify_add_watch(descriptor, String(path[..<slash]), UInt32(IN_CLOSE_NOWRITE)) >= 0 else { return nil }
    }

    deinit { close(descriptor) }

    /// Waits until the file has been read since the last call returned;
    /// false when `timeout` seconds pass first.
    func wait(timeout: Double = 20) -> Bool {
        let deadline = Sandbox.now() + timeout
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Sandbox.now() < deadline {
            var pfd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(max(1, (deadline - Sandbox.now()) * 1000))) == 1 else { continue }
            let n = read(descriptor, &buffer, buffer.count)
            var offset = 0
            while n > 0 && offset + 16 <= n {
                let length = Int(buffer[offset + 12]) | Int(buffer[offset + 13]) << 8 | Int(buffer[offset + 14]) << 16 | Int(buffer[offset + 15]) << 24
                let field = buffer[(offset + 16)..<min(n, offset + 16 + length)].prefix { $0 != 0 }
                if Array(field) == name { return true }
                offset += 16 + length
            }
        }
        return false
    }
}
