package import Glibc

/// Reads a service's log for `swiftd logs`: the last lines, and following it
/// as it grows, across rotation (the old file is read to its end before the
/// new one is opened).
package enum LogReader {
    /// The last `count` lines of `path` (read backwards from the end).
    package static func lastLines(_ path: String, count: Int) throws -> [UInt8] {
        let (fd, size) = try open(path)
        defer { fd.close() }
        return try lastLines(of: fd, before: size, count: count)
    }

    /// The log, open, and its size now: `logs -f` reads its last lines up to
    /// that size, then follows the same file from there, so that nothing
    /// written or rotated in between is skipped.
    package static func open(_ path: String) throws -> (file: FileDescriptor, size: off_t) {
        let fd = try FileDescriptor.open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK)
        do {
            let st = try fd.status()
            guard st.st_mode & S_IFMT == S_IFREG else { throw SystemError("open", path: path, errno: .invalid) }
            return (fd, off_t(st.st_size))
        } catch {
            fd.close()
            throw error
        }
    }

    /// The last `count` lines of the open log `fd` that end before offset `size`.
    package static func lastLines(of fd: FileDescriptor, before size: off_t, count: Int) throws -> [UInt8] {
        guard count > 0 else { return [] }
        var end = size
        var collected: [UInt8] = []
        var newlines = 0
        while end > 0 {
            let start = max(0, end - 65536)
            let chunk = try fd.read(upTo: Int(end - start), at: start)
            collected = chunk + collected
            newlines = collected.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
            // One more newline than lines wanted: the line before the first.
            if newlines > count || (newlines == count && collected.last != 10) { break }
            end = start
        }
        var lines = collected.split(separator: 10, omittingEmptySubsequences: false)
        if collected.last == 10 { lines.removeLast() }
        let wanted = lines.suffix(count)
        var result: [UInt8] = []
        for line in wanted { result += line; result.append(10) }
        if collected.last != 10, !result.isEmpty { result.removeLast() }
        return result
    }

    /// Prints everything appended to `path` from `offset` on, for ever,
    /// following rotation: `emit` gets each chunk. Reads `file` (the log as
    /// `open` found it) first, to its end, even if it was rotated away since.
    /// Wakes on inotify events of the log's directory, not on a timer.
    package static func follow(_ path: String, file: FileDescriptor, from offset: off_t, emit: ([UInt8]) -> Void) throws -> Never {
        let directory = Path.directory(of: path)
        let notify = try Inotify()
        let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE)
        _ = try notify.add(directory, mask: mask)
        var fd: FileDescriptor? = file
        var position = offset
        func drain(_ file: FileDescriptor) {
            while let chunk = try? file.read(upTo: 65536, at: position), !chunk.isEmpty {
                position += off_t(chunk.count)
                emit(chunk)
            }
        }
        while true {
            if let current = fd { drain(current) }
            // Rotated or recreated: finish the old file, then switch.
            if let st = try? FileSystem.linkStatus(path), st.st_mode & S_IFMT == S_IFREG {
                let currentID = fd.flatMap { try? $0.status() }.map(FileLocks.FileID.init)
                if currentID != FileLocks.FileID(st) {
                    if let old = fd { drain(old); old.close() }
                    fd = try? FileDescriptor.open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK)
                    position = 0
                    continue
                }
            }
            // Sleep until something in the log's directory changes.
            notify.waitForEvents()
            _ = notify.events()
        }
    }
}
