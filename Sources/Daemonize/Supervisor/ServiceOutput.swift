internal import Glibc

/// Where the supervised service's standard output and error go: straight to
/// swiftd's own streams (`swiftd run` without a log), nowhere, or through a
/// relay pipe into the log, which the supervisor writes line by line.
final class ServiceOutput {
    let log: ServiceLog
    /// Standard error's log, when the two streams are logged apart (syslog:
    /// `err` and `info`); nil when one log takes both.
    let errorLog: ServiceLog?
    /// What the service gets as its standard output and error.
    let output: LaunchConfiguration.Stream
    let error: LaunchConfiguration.Stream
    /// The relays: the service writes into them, the supervisor reads them
    /// (one for both streams, or one each).
    private let relays: [(read: FileDescriptor, write: FileDescriptor, log: ServiceLog)]
    /// When an incomplete last line is written out anyway (the service went quiet mid-line).
    private(set) var partialLineDeadline: Int64?
    /// Where syslog lines go, when they do.
    private let syslog: SyslogSink?

    init(_ configuration: ServiceConfiguration, paths: ServicePaths?, foreground: Bool) throws {
        var target: ServiceLog.Target
        switch configuration.log {
        case .none: target = .discard
        case .file(let path): target = .file(Path.absolute(path))
        case .syslog(let facility):
            let sink = try SyslogSink(path: SyslogSink.socketPath(), facility: facility.code, tag: configuration.name.rawValue)
            target = .syslog(sink, severity: 6)
        case .automatic:
            // Without swiftd's directories (the library's `Supervisor.run`), the process's own output.
            if let paths, !foreground { target = .file(paths.defaultLogFile(configuration.name)) } else { target = .descriptor(.standardOutput) }
        }
        if foreground, case .descriptor = target, !configuration.logTimestamps {
            // swiftd run without a log: the service writes to our own stdout and stderr directly.
            (output, error, relays, errorLog, syslog) = (.inherit, .inherit, [], nil, nil)
            log = try ServiceLog(target: .descriptor(.standardError), maxSize: ByteSize(bytes: 0), keep: 0, timestamps: false)
        } else if case .discard = target {
            (output, error, relays, errorLog, syslog) = (.null, .null, [], nil, nil)
            log = try ServiceLog(target: .discard, maxSize: configuration.logMaxSize, keep: 0, timestamps: false)
        } else if case .syslog(let sink, _) = target {
            let tail = ServiceLog.Tail()
            log = try ServiceLog(target: target, maxSize: ByteSize(bytes: 0), keep: 0, timestamps: false, tail: tail)
            let errors = try ServiceLog(target: .syslog(sink, severity: 3), maxSize: ByteSize(bytes: 0), keep: 0, timestamps: false, tail: tail)
            let (out, err) = (try ServiceOutput.relayPipe(), try ServiceOutput.relayPipe())
            (output, error, errorLog, syslog) = (.descriptor(out.write.rawValue), .descriptor(err.write.rawValue), errors, sink)
            relays = [(out.read, out.write, log), (err.read, err.write, errors)]
        } else {
            log = try ServiceLog(target: target, maxSize: configuration.logMaxSize, keep: configuration.logKeep,
                                 timestamps: configuration.logTimestamps)
            let pipe = try ServiceOutput.relayPipe()
            (output, error, errorLog, syslog) = (.descriptor(pipe.write.rawValue), .descriptor(pipe.write.rawValue), nil, nil)
            relays = [(pipe.read, pipe.write, log)]
        }
    }

    /// A pipe for the service to write into, read without blocking.
    private static func relayPipe() throws -> (read: FileDescriptor, write: FileDescriptor) {
        let pipe = try FileDescriptor.pipe()
        try pipe.read.setNonBlocking(true)
        try? pipe.write.setPipeSize(1 << 20)
        return pipe
    }

    private var logs: [ServiceLog] { [log] + (errorLog.map { [$0] } ?? []) }

    /// What to wait on: room on a full output (the relays are not read
    /// meanwhile, so the service waits on its own pipe), else the relays.
    var waitingOn: [(descriptor: FileDescriptor, writable: Bool)] {
        if let blocked = log.blockedOn { return [(blocked, true)] }
        return relays.map { ($0.read, false) }
    }

    /// Relays what the service wrote into `descriptor`, or writes what waited for room.
    func handle(_ descriptor: FileDescriptor, writable: Bool) {
        if writable {
            log.flushBacklog()
        } else if let pipe = relays.first(where: { $0.read == descriptor }) {
            relay(pipe.read, into: pipe.log)
        }
    }

    /// Logs every complete line the relays hold.
    func relay() {
        for pipe in relays { relay(pipe.read, into: pipe.log) }
    }

    private func relay(_ pipe: FileDescriptor, into log: ServiceLog) {
        _ = log.relay(from: pipe)
        if logs.contains(where: \.hasPartialLine) {
            if partialLineDeadline == nil { partialLineDeadline = Monotonic.now() + 250_000_000 }
        } else {
            partialLineDeadline = nil
        }
    }

    /// At `partialLineDeadline`: the incomplete lines go out.
    func flushPartialLine() {
        for log in logs { log.flushPartialLine() }
        partialLineDeadline = nil
    }

    /// The pid syslog messages name: the service's main process.
    func serviceStarted(pid: pid_t) { syslog?.pid = pid }

    /// Lines dropped in all (a full disk, a syslog daemon gone).
    var droppedTotal: Int { logs.reduce(0) { $0 + $1.droppedTotal } + (syslog?.droppedTotal ?? 0) }

    /// Reopens the log file, or connects to syslog again.
    func reopen() { log.reopen() }
}
