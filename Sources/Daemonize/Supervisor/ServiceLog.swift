internal import Glibc

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
        /// Syslog, a datagram a line at this severity (`info` 6, `err` 3).
        case syslog(SyslogSink, severity: Int32)
        /// Nowhere.
        case discard
    }

    /// The end of what was written, for failure reports: one for the
    /// service's two streams when they are logged apart (syslog).
    final class Tail {
        var bytes: [UInt8] = []
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
    var fd: FileDescriptor?
    var output: NonBlockingOutput?
    var size: Int64 = 0
    /// The relay buffer: an incomplete last line stays at its front.
    var buffer: UnsafeMutableRawBufferPointer
    var pending = 0
    /// A piece of a line was written without its newline.
    var midLine = false
    /// Output a full descriptor did not take yet.
    var backlog: [UInt8] = []
    /// The end of what was written, for failure reports.
    let recent: Tail
    /// Lines dropped since the last successful write, and why.
    var droppedSinceWarning = 0
    /// Lines dropped in all.
    private(set) var droppedTotal = 0
    var dropReason: Errno?
    var lastReopenAttempt: Int64 = 0

    /// Opens the log. Throws when a log file cannot be opened at the start:
    /// that is reported by `start`, not discovered later.
    init(target: Target, maxSize: ByteSize, keep: Int, timestamps: Bool, tail: Tail = Tail()) throws {
        self.target = target
        recent = tail
        self.maxSize = maxSize.bytes
        self.keep = keep
        self.timestamps = timestamps
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ServiceLog.bufferSize, alignment: 16)
        switch target {
        case .file(let path):
            let opened = try ServicePaths.openLog(path)
            fd = opened
            size = Int64((try? opened.status().st_size) ?? 0)
        case .descriptor(let d):
            let channel = NonBlockingOutput(d)
            output = channel
            fd = channel.descriptor
        case .syslog, .discard:
            break
        }
    }

    deinit { buffer.deallocate() }

    var path: String? {
        if case .file(let p) = target { return p }
        return nil
    }

    /// Lines go to the process's own output (`swiftd run` without a log).
    var isProcessOutput: Bool {
        if case .descriptor = target { return true }
        return false
    }

    /// True while an incomplete line waits in the buffer.
    var hasPartialLine: Bool { pending > 0 }

    /// The descriptor to wait on for room while output is held back, else nil:
    /// the relay is not read meanwhile.
    var blockedOn: FileDescriptor? {
        if case .syslog(let sink, _) = target { return sink.isBlocked ? sink.descriptor : nil }
        return backlog.isEmpty ? nil : output?.descriptor
    }

    // MARK: Relaying

    /// Reads what `pipe` (non-blocking) holds, up to `limit` bytes, and logs
    /// every complete line. Returns false at end of file.
    func relay(from pipe: FileDescriptor, limit: Int = 4 << 20) -> Bool {
        var total = 0
        while total < limit && blockedOn == nil {
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
        if rest > 0 { base.copyMemory(from: base + complete, byteCount: rest) }
        pending = rest
    }

    /// Writes out an incomplete line (the service went quiet mid-line, or exited).
    func flushPartialLine() {
        guard pending > 0 else { return }
        emit(UnsafeRawBufferPointer(start: buffer.baseAddress!, count: pending))
        pending = 0
    }

    /// A line of swiftd's own ("swiftd: web exited with status 1"). A path
    /// or an argument in it that is not UTF-8 shows as `\xNN`, as on a terminal.
    func note(_ text: String) {
        var line = Array(Escaped.message("swiftd: \(text)\n").utf8)
        if midLine { line.insert(10, at: 0) }
        line.withUnsafeBytes { emit($0) }
    }

    /// The last `count` lines written (or dropped), for failure reports.
    func recentLines(_ count: Int) -> [String] {
        let tail = recent.bytes
        var lines = tail.split(separator: 10, omittingEmptySubsequences: false).map { String(platformBytes: $0) }
        if lines.last == "" { lines.removeLast() }
        if tail.count >= 4096, !lines.isEmpty { lines.removeFirst() }
        return Array(lines.suffix(count))
    }

    // MARK: Writing

    private func emit(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        remember(bytes)
        switch target {
        case .discard: return
        case .syslog(let sink, let severity):
            // Syslog stamps each message itself.
            sink.send(lines: bytes, severity: severity)
            midLine = bytes[bytes.count - 1] != 10
            return
        case .file, .descriptor: break
        }
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
            recent.bytes = Array(bytes[(bytes.count - keep)...])
        } else {
            recent.bytes += bytes
            if recent.bytes.count > keep { recent.bytes.removeFirst(recent.bytes.count - keep) }
        }
    }

    func drop(_ bytes: UnsafeRawBufferPointer, reason: Errno) {
        var lines = 0
        for b in bytes where b == 10 { lines += 1 }
        if lines == 0 && !bytes.isEmpty { lines = 1 }
        droppedSinceWarning += lines
        droppedTotal += lines
        dropReason = reason
    }

    /// "2026-11-21T22:32:01.123Z " for the current time.
    static func timestamp() -> [UInt8] {
        Array((WallClock.rfc3339() + " ").utf8)
    }
}
