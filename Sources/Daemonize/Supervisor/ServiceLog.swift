/// The service's log as the supervisor writes it: output relayed from a pipe,
/// whole lines only, optional RFC 3339 timestamps, size rotation (NAME.log ->
/// NAME.log.1 ...), reopen on request, and writing failures (full disk,
/// deleted directory) counted as dropped lines instead of ever stopping the
/// service. Nothing the service prints makes it grow without bound: a file
/// never passes its maximum size (a line longer than that is cut across
/// files), and output to a descriptor that is full waits in a bounded
/// backlog while the relay stops reading (the service then waits on its pipe).
final class ServiceLog {
    /// Where lines go.
    enum Target {
        /// A log file, rotated at `maxSize` keeping `keep` old files.
        case file(String)
        /// An inherited descriptor (swiftd run's own output): no rotation.
        case descriptor(FileDescriptor)
        /// Nowhere.
        case discard
    }

    /// A line longer than this is written out in pieces.
    static let longestLine = 64 * 1024
    static let bufferSize = 128 * 1024
    /// Most output held back for a full descriptor; more is dropped (and counted).
    static let backlogLimit = 1 << 20

    let target: Target
    let maxSize: Int64
    let keep: Int
    let timestamps: Bool
    private var fd: FileDescriptor?
    private var output: NonBlockingOutput?
    private var size: Int64 = 0
    /// The relay buffer: an incomplete last line stays at its front.
    private var buffer: UnsafeMutableRawBufferPointer
    private var pending = 0
    /// A piece of a line was written without its newline.
    private var midLine = false
    /// Output a full descriptor did not take yet.
    private var backlog: [UInt8] = []
    /// The end of what was written, for failure reports.
    private var tail: [UInt8] = []
    /// Lines dropped since the last successful write, and why.
    private(set) var droppedSinceWarning = 0
    /// Lines dropped in all.
    private(set) var droppedTotal = 0
    private var dropReason: Errno?
    private var lastReopenAttempt: Int64 = 0

    /// Opens the log. Throws when a log file cannot be opened at the start:
    /// that is reported by `start`, not discovered later.
    init(target: Target, maxSize: ByteSize, keep: Int, timestamps: Bool) throws {
        self.target = target
        self.maxSize = maxSize.bytes
        self.keep = keep
        self.timestamps = timestamps
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ServiceLog.bufferSize, alignment: 16)
        switch target {
        case .file(let path):
            let opened = try FileSystem.openLog(path)
            fd = opened
            size = Int64((try? opened.status().st_size) ?? 0)
        case .descriptor(let d):
            let channel = NonBlockingOutput(d)
            output = channel
            fd = channel.descriptor
        case .discard:
            break
        }
    }

    deinit { buffer.deallocate() }

    var path: String? {
        if case .file(let p) = target { return p }
        return nil
    }

    /// True while an incomplete line waits in the buffer.
    var hasPartialLine: Bool { pending > 0 }

    /// The descriptor to wait on for room while output is held back, else nil:
    /// the relay is not read meanwhile.
    var blockedOn: FileDescriptor? { backlog.isEmpty ? nil : output?.descriptor }

    // MARK: Relaying

    /// Reads what `pipe` (non-blocking) holds, up to `limit` bytes, and logs
    /// every complete line. Returns false at end of file.
    func relay(from pipe: FileDescriptor, limit: Int = 4 << 20) -> Bool {
        var total = 0
        while total < limit && backlog.isEmpty {
            let room = UnsafeMutableRawBufferPointer(rebasing: buffer[pending...])
            let n: Int
            do {
                n = try pipe.read(into: room)
            } catch {
                return (error as? SystemError)?.errno == .wouldBlock
            }
            if n == 0 {
                flushPartialLine()
                return false
            }
            total += n
            pending += n
            emitCompleteLines()
        }
        return true
    }

    /// Writes out the complete lines at the front of the buffer and keeps the rest.
    private func emitCompleteLines() {
        let base = buffer.baseAddress!
        var lastNewline = pending - 1
        while lastNewline >= 0 && base.load(fromByteOffset: lastNewline, as: UInt8.self) != 10 { lastNewline -= 1 }
        if lastNewline < 0 {
            // No newline at all: a line longer than the buffer goes out in pieces.
            if pending >= ServiceLog.longestLine || pending == buffer.count {
                emit(UnsafeRawBufferPointer(start: base, count: pending))
                pending = 0
            }
            return
        }
        let complete = lastNewline + 1
        emit(UnsafeRawBufferPointer(start: base, count: complete))
        let rest = pending - complete
        if rest > 0 { memmove(base, base + complete, rest) }
        pending = rest
    }

    /// Writes out an incomplete line (the service went quiet mid-line, or exited).
    func flushPartialLine() {
        guard pending > 0 else { return }
        emit(UnsafeRawBufferPointer(start: buffer.baseAddress!, count: pending))
        pending = 0
    }

    /// A line of swiftd's own ("swiftd: web exited with status 1").
    func note(_ text: String) {
        var line = Array("swiftd: \(text)\n".utf8)
        if midLine { line.insert(10, at: 0) }
        line.withUnsafeBytes { emit($0) }
    }

    /// The last `count` lines written (or dropped), for failure reports.
    func recentLines(_ count: Int) -> [String] {
        var lines = tail.split(separator: 10, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if lines.last == "" { lines.removeLast() }
        if tail.count >= 4096, !lines.isEmpty { lines.removeFirst() }
        return Array(lines.suffix(count))
    }

    // MARK: Writing

    private func emit(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        remember(bytes)
        if case .discard = target { return }
        if timestamps {
            var stamped: [UInt8] = []
            stamped.reserveCapacity(bytes.count + 32 * 64)
            let stamp = ServiceLog.timestamp()
            var lineStart = !midLine
            for b in bytes {
                if lineStart { stamped += stamp; lineStart = false }
                stamped.append(b)
                if b == 10 { lineStart = true }
            }
            stamped.withUnsafeBytes { write($0) }
        } else {
            write(bytes)
        }
    }

    private func remember(_ bytes: UnsafeRawBufferPointer) {
        let keep = 4096
        if bytes.count >= keep {
            tail = Array(bytes[(bytes.count - keep)...])
        } else {
            tail += bytes
            if tail.count > keep { tail.removeFirst(tail.count - keep) }
        }
    }

    /// Writes whole lines, rotating between lines when the file would pass
    /// its size; a line longer than the room left is cut, never let grow the
    /// file past its size.
    private func write(_ bytes: UnsafeRawBufferPointer) {
        if output != nil {
            writeToOutput(bytes)
            return
        }
        guard ensureOpen(dropping: bytes) else { return }
        guard maxSize > 0 else {
            writeOut(bytes)
            return
        }
        var offset = 0
        while offset < bytes.count {
            let remaining = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            let room = Int(max(0, min(maxSize - size, Int64(remaining.count))))
            if remaining.count <= room {
                writeOut(remaining)
                return
            }
            // The last newline that still fits.
            var cut = room - 1
            while cut >= 0 && remaining[cut] != 10 { cut -= 1 }
            if cut >= 0 {
                writeOut(UnsafeRawBufferPointer(rebasing: remaining[...cut]))
                offset += cut + 1
            } else if size == 0 || (midLine && room > 0) {
                // A line longer than the room: as much as fits, the rest in the next file.
                writeOut(UnsafeRawBufferPointer(rebasing: remaining[..<max(room, 1)]))
                offset += max(room, 1)
            }
            rotate()
            guard fd != nil else {
                drop(UnsafeRawBufferPointer(rebasing: bytes[offset...]), reason: dropReason ?? .noSuchFile)
                return
            }
        }
    }

    private func writeOut(_ bytes: UnsafeRawBufferPointer) {
        guard let fd, !bytes.isEmpty else { return }
        var ok: Bool
        if droppedSinceWarning > 0 {
            // The warning goes out with the next lines or not at all, so that
            // it is written once, when space has returned.
            var combined = dropWarning()
            combined.append(contentsOf: bytes)
            ok = combined.withUnsafeBytes { writeWhole($0, to: fd) }
            if ok { droppedSinceWarning = 0 }
        } else {
            ok = writeWhole(bytes, to: fd)
        }
        if ok {
            midLine = bytes[bytes.count - 1] != 10
        } else {
            drop(bytes, reason: dropReason ?? .noSpace)
        }
    }

    private func dropWarning() -> [UInt8] {
        Array("swiftd: dropped \(droppedSinceWarning) line\(droppedSinceWarning == 1 ? "" : "s") (\(dropReason ?? .noSpace))\n".utf8)
    }

    /// Writes all of `bytes` to the log file or none: a write cut short (a
    /// full disk) is cut back off the file, so no torn line stays in the log.
    private func writeWhole(_ bytes: UnsafeRawBufferPointer, to fd: FileDescriptor) -> Bool {
        var written = 0
        while written < bytes.count {
            do {
                let n = try fd.write(UnsafeRawBufferPointer(rebasing: bytes[written...]))
                if n > 0 { written += n; continue }
                dropReason = .noSpace
            } catch let error as SystemError {
                dropReason = error.errno
            } catch {}
            if written > 0 {
                if (try? fd.truncate(to: off_t(size))) != nil { return false }
                size += Int64(written)
                midLine = true
            }
            return false
        }
        size += Int64(written)
        return true
    }

    /// Writes to a descriptor that may be full: what it does not take waits
    /// in the backlog (bounded; beyond it lines are dropped and counted).
    private func writeToOutput(_ bytes: UnsafeRawBufferPointer) {
        guard backlog.isEmpty else {
            hold(bytes)
            return
        }
        var offset = 0
        if droppedSinceWarning > 0 {
            backlog = dropWarning()
            droppedSinceWarning = 0
            flushBacklog()
            if !backlog.isEmpty {
                hold(bytes)
                return
            }
        }
        while offset < bytes.count, let output {
            do {
                let n = try output.write(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                if n == 0 { break }
                offset += n
            } catch let error as SystemError {
                drop(UnsafeRawBufferPointer(rebasing: bytes[offset...]), reason: error.errno)
                return
            } catch {
                return
            }
        }
        midLine = bytes[bytes.count - 1] != 10
        if offset < bytes.count { hold(UnsafeRawBufferPointer(rebasing: bytes[offset...])) }
    }

    private func hold(_ bytes: UnsafeRawBufferPointer) {
        if backlog.count + bytes.count > ServiceLog.backlogLimit {
            drop(bytes, reason: .wouldBlock)
            return
        }
        backlog.append(contentsOf: bytes)
        midLine = bytes[bytes.count - 1] != 10
    }

    /// Writes what the backlog holds, as far as the descriptor takes it.
    func flushBacklog() {
        guard let output, !backlog.isEmpty else { return }
        var offset = 0
        while offset < backlog.count {
            let n = (try? backlog.withUnsafeBytes { try output.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }) ?? -1
            if n < 0 {
                // The reader is gone: what waited for it is lost.
                backlog.withUnsafeBytes { drop(UnsafeRawBufferPointer(rebasing: $0[offset...]), reason: .brokenPipe) }
                offset = backlog.count
            }
            if n <= 0 { break }
            offset += n
        }
        backlog.removeFirst(offset)
    }

    /// Before exiting: writes the backlog, waiting at most this long for room.
    func drainBacklog(timeoutMilliseconds: Int32) {
        let deadline = Monotonic.now() + Int64(timeoutMilliseconds) * 1_000_000
        while let blocked = blockedOn, Monotonic.now() < deadline {
            guard (try? blocked.waitWritable(timeoutMilliseconds: Monotonic.millisecondsUntil(deadline))) == true else { return }
            flushBacklog()
        }
    }

    private func drop(_ bytes: UnsafeRawBufferPointer, reason: Errno) {
        var lines = 0
        for b in bytes where b == 10 { lines += 1 }
        if lines == 0 && !bytes.isEmpty { lines = 1 }
        droppedSinceWarning += lines
        droppedTotal += lines
        dropReason = reason
    }

    /// Makes sure a file target is open and still linked, reopening at once
    /// a file that was deleted (lines written into it would be lost) and at
    /// most once a second after a failure. False drops `bytes`.
    private func ensureOpen(dropping bytes: UnsafeRawBufferPointer) -> Bool {
        guard let path else { return fd != nil }
        if let current = fd, let st = try? current.status(), st.st_nlink == 0 {
            current.close()
            fd = nil
            lastReopenAttempt = 0
        }
        let now = Monotonic.now()
        if fd == nil && now - lastReopenAttempt >= 1_000_000_000 {
            lastReopenAttempt = now
            try? FileSystem.makeDirectories(Path.directory(of: path), mode: 0o755)
            do {
                let opened = try FileSystem.openLog(path)
                fd = opened
                size = Int64((try? opened.status().st_size) ?? 0)
                midLine = false
            } catch let error as SystemError {
                dropReason = error.errno
            } catch {
                dropReason = .accessDenied
            }
        }
        if fd == nil {
            drop(bytes, reason: dropReason ?? .noSuchFile)
            return false
        }
        return true
    }

    /// NAME.log -> NAME.log.1 -> ... -> NAME.log.KEEP (the oldest removed), then a new NAME.log.
    private func rotate() {
        guard let path else { return }
        fd?.close()
        fd = nil
        if keep == 0 {
            try? FileSystem.remove(path)
        } else {
            try? FileSystem.remove("\(path).\(keep)")
            for i in stride(from: keep - 1, through: 1, by: -1) { try? FileSystem.rename("\(path).\(i)", to: "\(path).\(i + 1)") }
            try? FileSystem.rename(path, to: "\(path).1")
        }
        do {
            fd = try FileSystem.openLog(path)
            size = 0
            midLine = false
        } catch let error as SystemError {
            dropReason = error.errno
            lastReopenAttempt = Monotonic.now()
        } catch {
            dropReason = .accessDenied
            lastReopenAttempt = Monotonic.now()
        }
    }

    /// Closes and reopens the log file (SIGUSR2, after an external logrotate).
    func reopen() {
        guard path != nil else { return }
        fd?.close()
        fd = nil
        lastReopenAttempt = 0
        let nothing = UnsafeRawBufferPointer(start: nil, count: 0)
        if !ensureOpen(dropping: nothing) { lastReopenAttempt = Monotonic.now() }
    }

    /// "2026-11-21T22:32:01.123Z " for the current time.
    static func timestamp() -> [UInt8] {
        let now = WallClock.now()
        var seconds = time_t(now.seconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let millis = Int(now.nanoseconds / 1_000_000)
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        let text = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z "
        return Array(text.utf8)
    }
}
