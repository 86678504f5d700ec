package import Glibc
internal import CDaemonize

/// An open file descriptor. A plain value: closing is explicit (`close()`),
/// ownership is the caller's to track.
package struct FileDescriptor: RawRepresentable, Hashable, Sendable {
    /// The raw descriptor number.
    package let rawValue: Int32

    /// Wraps a raw descriptor number.
    package init(rawValue: Int32) { self.rawValue = rawValue }

    package static let standardInput = FileDescriptor(rawValue: 0)
    package static let standardOutput = FileDescriptor(rawValue: 1)
    package static let standardError = FileDescriptor(rawValue: 2)

    /// Opens `path`. `O_CLOEXEC` is always added.
    ///
    /// The corresponding C function is `open`.
    package static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws -> FileDescriptor {
        let fd = path.withPlatformString { path in retryingOnInterrupt { Glibc.open(path, flags | O_CLOEXEC, mode) } }
        if fd < 0 { throw SystemError("open", path: path) }
        return FileDescriptor(rawValue: fd)
    }

    /// Opens `name` relative to the directory `directory`. `O_CLOEXEC` is always added.
    ///
    /// The corresponding C function is `openat`.
    package static func open(_ name: String, in directory: FileDescriptor, _ flags: Int32, mode: mode_t = 0o644, path: String? = nil) throws -> FileDescriptor {
        let fd = name.withPlatformString { name in retryingOnInterrupt { openat(directory.rawValue, name, flags | O_CLOEXEC, mode) } }
        if fd < 0 { throw SystemError("open", path: path ?? name) }
        return FileDescriptor(rawValue: fd)
    }

    /// Opens `path` only to name it (`O_PATH`): a directory to change into or
    /// root to, a file to look at with `status()`. `O_CLOEXEC` is always added.
    ///
    /// The corresponding C function is `open` (`O_PATH`).
    package static func openPath(_ path: String, directory: Bool) throws -> FileDescriptor {
        let fd = path.withPlatformString { path in retryingOnInterrupt { dz_open_path(path, directory ? O_DIRECTORY : 0) } }
        if fd < 0 { throw SystemError("open", path: path) }
        return FileDescriptor(rawValue: fd)
    }

    /// Creates a pipe; both ends close on exec.
    ///
    /// The corresponding C function is `pipe2`.
    package static func pipe(nonBlocking: Bool = false) throws -> (read: FileDescriptor, write: FileDescriptor) {
        var fds: [Int32] = [-1, -1]
        let flags = O_CLOEXEC | (nonBlocking ? O_NONBLOCK : 0)
        if dz_pipe2(&fds, flags) != 0 { throw SystemError("pipe2") }
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }

    /// Closes the descriptor. Never retried: after EINTR the descriptor is gone on Linux.
    ///
    /// The corresponding C function is `close`.
    package func close() {
        _ = Glibc.close(rawValue)
    }

    /// Reads at most `buffer.count` bytes; 0 at end of file. Throws
    /// `Errno.wouldBlock` on an empty non-blocking descriptor.
    ///
    /// The corresponding C function is `read`.
    package func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = retryingOnInterrupt { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
        if n < 0 { throw SystemError("read") }
        return n
    }

    /// Reads at most `count` bytes at `offset` without moving the file position.
    ///
    /// The corresponding C function is `pread`.
    package func read(upTo count: Int, at offset: off_t) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { buffer in
            retryingOnInterrupt { pread(rawValue, buffer.baseAddress, count, offset) }
        }
        if n < 0 { throw SystemError("read") }
        bytes.removeLast(count - n)
        return bytes
    }

    /// Reads until end of file, or until `limit` bytes (then stops there).
    ///
    /// `regularFileSize`, the size `fstat` gave for a regular file, spares
    /// the read that would only say end of file: a read of a regular file
    /// that returns less than asked, once that size is read, was at its end.
    /// (A size of 0 says nothing: files under /proc show 0, and are read in
    /// pieces shorter than asked.)
    package func readAll(limit: Int = 1 << 24, regularFileSize: Int? = nil) throws -> [UInt8] {
        var result: [UInt8] = []
        // Not zeroed first: `status` of a thousand services reads two thousand small files.
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 16384, alignment: 1)
        defer { chunk.deallocate() }
        while result.count < limit {
            let want = min(chunk.count, limit - result.count)
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: chunk[0..<want]))
            if n == 0 { break }
            result.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
            if let size = regularFileSize, size > 0, n < want, result.count >= size { break }
        }
        return result
    }

    /// Writes once; returns how many bytes were written.
    ///
    /// The corresponding C function is `write`.
    package func write(_ buffer: UnsafeRawBufferPointer) throws -> Int {
        let n = retryingOnInterrupt { Glibc.write(rawValue, buffer.baseAddress, buffer.count) }
        if n < 0 { throw SystemError("write") }
        return n
    }

    /// Sends once on a socket; returns how many bytes were sent.
    ///
    /// The corresponding C function is `send`.
    package func send(_ buffer: UnsafeRawBufferPointer, flags: Int32) throws -> Int {
        let n = retryingOnInterrupt { Glibc.send(rawValue, buffer.baseAddress, buffer.count, flags) }
        if n < 0 { throw SystemError("send") }
        return n
    }

    /// Writes all of `bytes`, continuing after short writes.
    package func writeAll<Bytes: Collection>(_ bytes: Bytes) throws where Bytes.Element == UInt8 {
        let done: Void? = try bytes.withContiguousStorageIfAvailable { try writeAll(UnsafeRawBufferPointer($0)) }
        if done == nil {
            try Array(bytes).withUnsafeBytes { try writeAll($0) }
        }
    }

    /// Writes all of `buffer`, continuing after short writes.
    package func writeAll(_ buffer: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < buffer.count {
            offset += try write(UnsafeRawBufferPointer(rebasing: buffer[offset...]))
        }
    }

    /// Writes all of the UTF-8 bytes of `text`.
    package func writeAll(_ text: String) throws {
        var text = text
        try text.withUTF8 { try writeAll(UnsafeRawBufferPointer($0)) }
    }

    /// The file's status.
    ///
    /// The corresponding C function is `fstat`.
    package func status() throws -> stat {
        var st = stat()
        if fstat(rawValue, &st) != 0 { throw SystemError("fstat") }
        return st
    }

    /// Cuts the file to `length` bytes.
    ///
    /// The corresponding C function is `ftruncate`.
    package func truncate(to length: off_t) throws {
        if retryingOnInterrupt({ ftruncate(rawValue, length) }) != 0 { throw SystemError("ftruncate") }
    }

    /// Moves the file position; returns the new offset.
    ///
    /// The corresponding C function is `lseek`.
    @discardableResult
    package func seek(to offset: off_t, from whence: Int32 = SEEK_SET) throws -> off_t {
        let r = lseek(rawValue, offset, whence)
        if r < 0 { throw SystemError("lseek") }
        return r
    }

    /// True when the descriptor is open.
    ///
    /// The corresponding C function is `fcntl` (`F_GETFD`).
    package var isOpen: Bool { dz_fd_is_open(rawValue) != 0 }

    /// Sets or clears close-on-exec.
    package func setCloseOnExec(_ on: Bool) throws {
        if dz_set_cloexec(rawValue, on ? 1 : 0) != 0 { throw SystemError("fcntl") }
    }

    /// Sets or clears `O_NONBLOCK`.
    package func setNonBlocking(_ on: Bool) throws {
        if dz_set_nonblock(rawValue, on ? 1 : 0) != 0 { throw SystemError("fcntl") }
    }

    /// A kind of `flock`.
    package enum Lock: Sendable {
        case shared, exclusive, unlock
    }

    /// Takes (or lets go of) a `flock` on the file: without waiting, false
    /// when another holder is in the way. Interruptions are retried.
    ///
    /// The corresponding C function is `flock`.
    package func lock(_ kind: Lock, wait: Bool = false) throws -> Bool {
        var operation: Int32
        switch kind {
        case .shared: operation = LOCK_SH
        case .exclusive: operation = LOCK_EX
        case .unlock: operation = LOCK_UN
        }
        if !wait { operation |= LOCK_NB }
        if retryingOnInterrupt({ flock(rawValue, operation) }) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw SystemError("flock")
    }

    /// Sets the file's permissions.
    ///
    /// The corresponding C function is `fchmod`.
    package func setMode(_ mode: mode_t) throws {
        if fchmod(rawValue, mode) != 0 { throw SystemError("fchmod") }
    }

    /// Writes all of `bytes` at `offset`, or throws.
    ///
    /// The corresponding C function is `pwrite`.
    package func write(_ bytes: [UInt8], at offset: off_t) throws {
        let n = bytes.withUnsafeBytes { buffer in
            retryingOnInterrupt { pwrite(rawValue, buffer.baseAddress, buffer.count, offset) }
        }
        if n != bytes.count { throw SystemError("write") }
    }

    /// Makes `target` a duplicate of this descriptor (closing what it was).
    ///
    /// The corresponding C function is `dup2`.
    package func duplicate(onto target: Int32) throws {
        if retryingOnInterrupt({ dup2(rawValue, target) }) < 0 { throw SystemError("dup2") }
    }

    /// Closes every descriptor from `first` on but those in `keeping`.
    ///
    /// The corresponding C function is `close_range` (or `close`, one by one).
    package static func closeAll(from first: Int32, keeping: [FileDescriptor]) {
        let keep = keeping.map(\.rawValue)
        _ = dz_close_all_except(first, keep, Int32(keep.count))
    }

    /// Marks every descriptor from `first` on but those in `keeping` close-on-exec.
    ///
    /// The corresponding C function is `close_range` (`CLOSE_RANGE_CLOEXEC`).
    package static func markCloseOnExec(from first: Int32, keeping: [FileDescriptor]) {
        var next = first
        for k in keeping.map(\.rawValue).sorted() + [Int32.max] where k >= next {
            if k > next { _ = dz_close_range(UInt32(next), k == Int32.max ? UInt32.max : UInt32(k - 1), 1) }
            if k == Int32.max { break }
            next = k + 1
        }
    }

    /// Sets the capacity of a pipe (`F_SETPIPE_SZ`).
    package func setPipeSize(_ bytes: Int32) throws {
        if dz_set_pipe_size(rawValue, bytes) < 0 { throw SystemError("fcntl") }
    }

    /// A close-on-exec duplicate numbered at least `minimum`.
    package func duplicate(atLeast minimum: Int32 = 0) throws -> FileDescriptor {
        let fd = dz_dup_cloexec(rawValue, minimum)
        if fd < 0 { throw SystemError("fcntl") }
        return FileDescriptor(rawValue: fd)
    }

    /// Waits until the descriptor is readable (or hung up); false on timeout.
    /// A negative timeout waits for ever.
    ///
    /// The corresponding C function is `poll`.
    package func waitReadable(timeoutMilliseconds: Int32) throws -> Bool {
        try wait(for: Int16(POLLIN), timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Waits until the descriptor can take a write (or hung up); false on timeout.
    ///
    /// The corresponding C function is `poll`.
    package func waitWritable(timeoutMilliseconds: Int32) throws -> Bool {
        try wait(for: Int16(POLLOUT), timeoutMilliseconds: timeoutMilliseconds)
    }

    private func wait(for events: Int16, timeoutMilliseconds: Int32) throws -> Bool {
        var pfd = pollfd(fd: rawValue, events: events, revents: 0)
        let deadline = timeoutMilliseconds < 0 ? nil : Monotonic.now() + Int64(timeoutMilliseconds) * 1_000_000
        while true {
            var wait = timeoutMilliseconds
            if let deadline { wait = Monotonic.millisecondsUntil(deadline) }
            let r = poll(&pfd, 1, wait)
            if r < 0 {
                if errno == EINTR { continue }
                throw SystemError("poll")
            }
            return r > 0
        }
    }
}
