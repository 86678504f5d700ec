internal import Glibc

/// Where the supervised service's standard output and error go: straight to
/// swiftd's own streams (`swiftd run` without a log), nowhere, or through a
/// relay pipe into the log, which the supervisor writes line by line.
final class ServiceOutput {
    let log: ServiceLog
    /// What the service gets as its standard output and error.
    let output: LaunchConfiguration.Stream
    let error: LaunchConfiguration.Stream
    /// The relay: the service writes into it, the supervisor reads it.
    private let relayPipe: (read: FileDescriptor, write: FileDescriptor)?
    /// When an incomplete last line is written out anyway (the service went quiet mid-line).
    private(set) var partialLineDeadline: Int64?

    init(_ configuration: ServiceConfiguration, paths: ServicePaths?, foreground: Bool) throws {
        var target: ServiceLog.Target
        switch configuration.log {
        case .none: target = .discard
        case .file(let path): target = .file(Path.absolute(path))
        case .automatic:
            // Without swiftd's directories (the library's `Supervisor.run`), the process's own output.
            if let paths, !foreground { target = .file(paths.defaultLogFile(configuration.name)) } else { target = .descriptor(.standardOutput) }
        }
        if foreground, case .descriptor = target, !configuration.logTimestamps {
            // swiftd run without a log: the service writes to our own stdout and stderr directly.
            output = .inherit
            error = .inherit
            relayPipe = nil
            log = try ServiceLog(target: .descriptor(.standardError), maxSize: ByteSize(bytes: 0), keep: 0, timestamps: false)
        } else if case .discard = target {
            output = .null
            error = .null
            relayPipe = nil
            log = try ServiceLog(target: .discard, maxSize: configuration.logMaxSize, keep: 0, timestamps: false)
        } else {
            log = try ServiceLog(target: target, maxSize: configuration.logMaxSize, keep: configuration.logKeep,
                                 timestamps: configuration.logTimestamps)
            let pipe = try FileDescriptor.pipe()
            try pipe.read.setNonBlocking(true)
            try? pipe.write.setPipeSize(1 << 20)
            relayPipe = pipe
            output = .descriptor(pipe.write.rawValue)
            error = .descriptor(pipe.write.rawValue)
        }
    }

    /// What to wait on: room on a full output (the relay is not read
    /// meanwhile, so the service waits on its own pipe), else the relay.
    var waitingOn: (descriptor: FileDescriptor, writable: Bool)? {
        if let blocked = log.blockedOn { return (blocked, true) }
        return relayPipe.map { ($0.read, false) }
    }

    /// Relays what the service wrote, or writes what waited for room.
    func handle(writable: Bool) {
        if writable { log.flushBacklog() } else { relay() }
    }

    /// Logs every complete line the relay holds.
    func relay() {
        guard let relayPipe else { return }
        _ = log.relay(from: relayPipe.read)
        if log.hasPartialLine {
            if partialLineDeadline == nil { partialLineDeadline = Monotonic.now() + 250_000_000 }
        } else {
            partialLineDeadline = nil
        }
    }

    /// At `partialLineDeadline`: the incomplete line goes out.
    func flushPartialLine() {
        log.flushPartialLine()
        partialLineDeadline = nil
    }
}
