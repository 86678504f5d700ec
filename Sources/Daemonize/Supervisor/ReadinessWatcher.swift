internal import Glibc

/// How a service says how it is, read in one place for the supervisor and
/// for exec mode's start: READY=1, ERRNO=, STATUS=, MAINPID= and WATCHDOG= on the
/// sd_notify socket (`--ready notify`), a newline on the s6-style
/// notification descriptor (`--ready fd:N`). Only messages from processes
/// the caller accepts as the service's count.
final class ReadinessWatcher {
    enum Event: Equatable {
        case ready
        /// ERRNO=: the service reported its start failed.
        case failed(String)
        case status(String)
        case mainPID(pid_t)
        /// WATCHDOG=1 (alive), or WATCHDOG=trigger (act as if the watchdog expired).
        case watchdog(trigger: Bool)
    }

    /// Datagrams read per call: a flood never keeps the caller from the rest
    /// of its loop.
    static let messagesPerCall = 64

    private let readiness: ServiceConfiguration.Readiness
    private let notify: NotifyListener?
    /// The read end of the current launch's notification descriptor.
    private var pipe: FileDescriptor?

    init(_ readiness: ServiceConfiguration.Readiness, name: ServiceName) throws {
        self.readiness = readiness
        notify = readiness == .notify ? try NotifyListener(name: name) : nil
    }

    /// What the next launch needs: the `NOTIFY_SOCKET` value, and the
    /// descriptors to hand over (the write end of a new notification pipe,
    /// which the caller closes once the launch has it).
    func prepareLaunch() throws -> (notifySocket: String?, descriptors: [Int32: FileDescriptor], handOff: FileDescriptor?) {
        guard case .descriptor(let number) = readiness else { return (notify?.address, [:], nil) }
        let fds = try FileDescriptor.pipe()
        try fds.read.setNonBlocking(true)
        pipe?.close()
        pipe = fds.read
        return (nil, [number: fds.write], fds.write)
    }

    /// The descriptors to wait on.
    var descriptors: [FileDescriptor] { [notify?.descriptor, pipe].compactMap { $0 } }

    /// Reads what waits on `fd` (one of `descriptors`); `isService` says
    /// whether a sender is one of the service's processes. Each event comes
    /// with its sender's pid (nil for the pipe: it is the latest launch's).
    func read(_ fd: FileDescriptor, isService: (pid_t) -> Bool) -> [(event: Event, sender: pid_t?)] {
        if fd == pipe { return readPipe(fd).map { ($0, nil) } }
        guard let notify, fd == notify.descriptor else { return [] }
        var events: [(event: Event, sender: pid_t?)] = []
        for _ in 0..<ReadinessWatcher.messagesPerCall {
            guard let message = notify.receive() else { break }
            guard message.sender > 0, isService(message.sender) else { continue }
            var found: [Event] = []
            if let text = message.fields["STATUS"] { found.append(.status(text)) }
            if let pid = message.fields["MAINPID"].flatMap({ PIDFile.parsePID($0.utf8) }) { found.append(.mainPID(pid)) }
            if let watchdog = message.fields["WATCHDOG"], watchdog == "1" || watchdog == "trigger" { found.append(.watchdog(trigger: watchdog == "trigger")) }
            if let code = message.fields["ERRNO"].flatMap({ Int32($0) }) {
                found.append(.failed("it reported errno \(code) (\(Errno(rawValue: code)))"))
            } else if message.fields["READY"] == "1" {
                found.append(.ready)
            }
            events += found.map { ($0, message.sender) }
        }
        return events
    }

    /// A newline is readiness; the end of the pipe without one is none.
    private func readPipe(_ fd: FileDescriptor) -> [Event] {
        var bytes = [UInt8](repeating: 0, count: 512)
        let n: Int
        do {
            n = try bytes.withUnsafeMutableBytes { try fd.read(into: $0) }
        } catch {
            return []
        }
        if n > 0 && !bytes[0..<n].contains(10) { return [] }
        fd.close()
        pipe = nil
        return n > 0 ? [.ready] : []
    }

    func close() {
        notify?.close()
        pipe?.close()
        pipe = nil
    }
}
