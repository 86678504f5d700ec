internal import Glibc
internal import CDaemonize
internal import Synchronization

/// Signals caught by a handler that writes each one's number to a pipe (a
/// self-pipe, as swift-subprocess does), for a `SignalSequence`. Unlike the
/// supervisor's `SignalWatcher` (a signalfd, which needs the signals blocked
/// in every thread), it works whatever the threads' masks: under an async
/// main, libdispatch's main thread waits in `sigsuspend` with none blocked.
final class SignalTrap: Sendable {
    let signals: [ProcessSignal]
    private let reading: FileDescriptor
    private let writing: FileDescriptor

    /// The traps set in this process, by their pipe's writing end:
    /// `Daemon.detach` keeps their descriptors in the daemon and lets them
    /// go in the original process.
    private static let traps = Mutex<[Int32: (signals: [ProcessSignal], reading: FileDescriptor)]>([:])

    /// Opens the pipe and installs the handler for each of `signals`. The
    /// corresponding C functions are `pipe2` and `sigaction`.
    init(_ signals: [ProcessSignal]) throws {
        let pipe = try FileDescriptor.pipe()
        try pipe.write.setNonBlocking(true)
        for (index, signal) in signals.enumerated() where dz_trap_signal(signal.rawValue, pipe.write.rawValue) != 0 {
            let error = SystemError("sigaction", path: "SIG\(signal.name)")
            for earlier in signals[..<index] { _ = dz_untrap_signal(earlier.rawValue, pipe.write.rawValue) }
            pipe.read.close()
            pipe.write.close()
            throw error
        }
        self.signals = signals
        reading = pipe.read
        writing = pipe.write
        SignalTrap.traps.withLock { $0[pipe.write.rawValue] = (signals, pipe.read) }
    }

    /// Waits for the next signals caught; nil once `release()` closed the pipe.
    func wait() -> [ProcessSignal]? {
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { bytes in (try? reading.read(into: bytes)) ?? 0 }
        guard n > 0 else { return nil }
        return buffer[..<n].map { ProcessSignal(rawValue: Int32($0)) }
    }

    /// Puts back the dispositions the handlers replaced (unless a later trap
    /// took the signal over) and closes the writing end: `wait` then returns nil.
    func release() {
        SignalTrap.traps.withLock { _ = $0.removeValue(forKey: writing.rawValue) }
        for signal in signals { _ = dz_untrap_signal(signal.rawValue, writing.rawValue) }
        writing.close()
    }

    /// Closes the reading end, once nobody waits on it.
    func closeReadingEnd() {
        reading.close()
    }

    /// The descriptors of every trap set in this process.
    static var descriptors: [FileDescriptor] {
        traps.withLock { $0.flatMap { [FileDescriptor(rawValue: $0.key), $0.value.reading] } }
    }

    /// Lets every trap go in this process (the original of a detach, whose
    /// daemon keeps them): dispositions back, descriptors closed.
    static func releaseAll() {
        for (fd, trap) in traps.withLock({ $0 }) {
            for signal in trap.signals { _ = dz_untrap_signal(signal.rawValue, fd) }
            FileDescriptor(rawValue: fd).close()
            trap.reading.close()
        }
        traps.withLock { $0 = [:] }
    }
}
