internal import Glibc

/// The service's lines sent to syslog (`log = syslog`): one RFC 3164
/// datagram a line, `<PRI>Mmm dd hh:mm:ss NAME[PID]: line`, to /dev/log (or
/// `SWIFTD_SYSLOG_SOCKET`) through a non-blocking connected socket.
///
/// It never blocks the supervisor. A reader that falls behind (its queue
/// full) gets the datagrams it did not take later, in order, while the relay
/// stops reading the service's pipes (the service then waits on its pipe, as
/// under a full terminal): nothing is lost to a slow reader. A reader that is
/// gone (no socket, or it was closed) loses the lines meanwhile, counted; the
/// socket is connected again at most once a second, and the first datagram
/// then says how many lines were dropped and why.
final class SyslogSink {
    /// Where syslog daemons listen.
    static let defaultPath = "/dev/log"
    /// The most bytes of a line in one datagram; a longer line is sent in pieces.
    static let longestMessage = 4096
    /// The most held for a reader that is behind; more is dropped (and counted).
    static let queueLimit = 1 << 20

    let path: String
    let facility: Int32
    let tag: String
    /// The pid in the tag: the service's main process (swiftd's own before it starts).
    var pid = CurrentProcess.id
    private(set) var socket: FileDescriptor?
    /// Datagrams the reader did not take yet, from `head` on.
    private var queue: [[UInt8]] = []
    private var head = 0
    private var queuedBytes = 0
    /// Lines dropped since the last warning went out, and in all.
    private var droppedSinceWarning = 0
    private(set) var droppedTotal = 0
    private var dropReason: Errno = .noSuchFile
    private var lastConnectAttempt: Int64 = 0

    /// The socket path: `SWIFTD_SYSLOG_SOCKET` when set, else /dev/log.
    static func socketPath() -> String {
        guard let path = Environment.value("SWIFTD_SYSLOG_SOCKET"), !path.isEmpty else { return defaultPath }
        return path
    }

    /// Connects to `path`; throws when nothing listens there, so that a
    /// start reports it rather than lose every line.
    init(path: String, facility: Int32, tag: String) throws {
        self.path = path
        self.facility = facility
        self.tag = tag
        socket = try SyslogSink.connect(path)
    }

    deinit { socket?.close() }

    /// A connected socket, or the reason there is none.
    static func connect(_ path: String) throws -> FileDescriptor {
        guard let address = NotifyAddress(path) else { throw SystemError("connect", path: path, errno: .invalid) }
        return try DatagramSocket.connected(to: address, path: path)
    }

    /// Datagrams wait for the reader: the caller stops relaying and waits for
    /// `descriptor` to be writable.
    var isBlocked: Bool { waiting > 0 && socket != nil }

    var descriptor: FileDescriptor? { socket }

    /// Sends the lines of `bytes` (whole lines, or a piece of a long one) at `severity`.
    func send(lines bytes: UnsafeRawBufferPointer, severity: Int32) {
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 10 { end += 1 }
            var piece = start
            repeat {
                let stop = min(end, piece + SyslogSink.longestMessage)
                submit(datagram(UnsafeRawBufferPointer(rebasing: bytes[piece..<stop]), severity: severity))
                piece = stop
            } while piece < end
            start = end + 1
        }
    }

    /// `<PRI>Mmm dd hh:mm:ss TAG[PID]: message`, as syslog(3) sends to /dev/log.
    func datagram(_ message: UnsafeRawBufferPointer, severity: Int32) -> [UInt8] {
        var bytes = Array("<\(facility * 8 + severity)>\(WallClock.syslogTimestamp()) \(tag)[\(pid)]: ".utf8)
        bytes.append(contentsOf: message)
        return bytes
    }

    private func submit(_ datagram: [UInt8]) {
        guard connected() else { return drop(lines: 1) }
        // Behind what waits already, and behind the warning about dropped lines.
        guard waiting == 0, sendWarning() else { return socket == nil ? drop(lines: 1) : hold(datagram) }
        switch trySend(datagram) {
        case .sent: break
        case .full: hold(datagram)
        case .gone: drop(lines: 1)
        }
    }

    private var waiting: Int { queue.count - head }

    private func hold(_ datagram: [UInt8]) {
        if queuedBytes + datagram.count > SyslogSink.queueLimit {
            dropReason = .wouldBlock
            return drop(lines: 1)
        }
        queue.append(datagram)
        queuedBytes += datagram.count
    }

    /// Sends what waited, as far as the reader takes it.
    func flush() {
        guard socket != nil, sendWarning() else { return }
        while head < queue.count {
            switch trySend(queue[head]) {
            case .sent:
                queuedBytes -= queue[head].count
                head += 1
            case .full:
                return
            case .gone:
                // What waited was dropped with the connection.
                return
            }
        }
        queue = []
        head = 0
    }

    /// After `swiftd reopen` (a syslog daemon restarted): a new connection
    /// now; what waited for the old one goes to the new one.
    func reconnect() {
        socket?.close()
        socket = nil
        lastConnectAttempt = 0
        if connected() { flush() } else if waiting > 0 { disconnect() }
    }

    // MARK: The socket

    private enum Sent { case sent, full, gone }

    private func trySend(_ datagram: [UInt8]) -> Sent {
        guard let socket else { return .gone }
        do {
            _ = try datagram.withUnsafeBytes { try socket.send($0, flags: Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            return .sent
        } catch let error as SystemError where error.errno == .wouldBlock {
            return .full
        } catch let error as SystemError {
            // The reader closed its socket (a syslog daemon stopped): lines are lost until it is back.
            dropReason = error.errno
            disconnect()
            return .gone
        } catch {
            return .gone
        }
    }

    /// The warning about dropped lines, before any other line: false when it could not go yet.
    private func sendWarning() -> Bool {
        guard droppedSinceWarning > 0 else { return true }
        let text = "swiftd: dropped \(droppedSinceWarning) line\(droppedSinceWarning == 1 ? "" : "s") (\(dropReason))"
        let warning = Array(text.utf8).withUnsafeBytes { datagram($0, severity: 4) }
        guard trySend(warning) == .sent else { return false }
        droppedSinceWarning = 0
        return true
    }

    /// True when a socket is connected, trying again at most once a second.
    private func connected() -> Bool {
        if socket != nil { return true }
        let now = Monotonic.now()
        guard now - lastConnectAttempt >= 1_000_000_000 else { return false }
        lastConnectAttempt = now
        do {
            socket = try SyslogSink.connect(path)
        } catch let error as SystemError {
            dropReason = error.errno
        } catch {}
        return socket != nil
    }

    private func disconnect() {
        socket?.close()
        socket = nil
        lastConnectAttempt = Monotonic.now()
        if waiting > 0 { drop(lines: waiting) }
        queue = []
        head = 0
        queuedBytes = 0
    }

    private func drop(lines: Int) {
        droppedSinceWarning += lines
        droppedTotal += lines
    }
}
