internal import Synchronization

/// The signals a program asked for, as an `AsyncSequence`: `for await signal
/// in signals`. The shape of swift-service-lifecycle's `UnixSignalsSequence`
/// (without the dependency), set up synchronously: from the moment it is
/// made, each of its signals sent to the process is caught and kept for it,
/// however late the first `next()` comes.
///
/// Make it before you tell anyone you are up: after `Daemon.detach` and
/// before `daemon.ready()` (or `Notify.ready()`), so that a TERM sent right
/// after ready is never lost and never has its default action. It works in
/// any thread and under an `async` `main` (where libdispatch's main thread
/// waits with no signal blocked); made before `detach`, it goes on working
/// in the daemon, and the original process gets its old dispositions back.
///
/// ```swift
/// let (daemon, listener) = try Daemon.detach(options, privileged: { try bind(port: 80) })
/// let signals = try SignalSequence(trapping: .terminate, .hangup, .user2)
/// daemon.ready()
/// for await signal in signals {
///     switch signal {
///     case .hangup: reloadConfiguration()
///     case .user2: print("upgrading"); print("reexec failed: \(daemon.reexec(keeping: [listener!]))")
///     default: exit(0)
///     }
/// }
/// ```
///
/// Iterate it from one task. One sequence per signal: a later sequence that
/// traps the same signal takes it over. When the sequence is dropped, each
/// signal gets back the disposition it had before. `Daemon.reexec` gives the
/// new program every signal at its default, none blocked. `SIGKILL` and
/// `SIGSTOP` cannot be trapped. The C functions are `sigaction` (a handler
/// that writes the signal's number to a pipe, `SA_RESTART`) and
/// `pthread_create` (a thread of its own reads the pipe once the first
/// iterator is made, so that no Swift concurrency thread is held).
public struct SignalSequence: AsyncSequence, Sendable {
    /// A signal, as `ProcessSignal.terminate`, `.hangup`, `.user2`...
    public typealias Element = ProcessSignal

    private let storage: Storage

    /// Traps `signals`: from now on each is caught and kept for the sequence.
    ///
    /// - Throws: a `SystemError` with `EINVAL` for `SIGKILL`, `SIGSTOP` or a
    ///   number that is no signal, or with the errno of `pipe2` (`EMFILE`).
    public init(trapping signals: ProcessSignal...) throws {
        try self.init(trapping: signals)
    }

    /// Traps `signals` (see `init(trapping:)`).
    public init(trapping signals: [ProcessSignal]) throws {
        storage = Storage(try SignalTrap(Array(Set(signals)).sorted { $0.rawValue < $1.rawValue }))
    }

    /// The iterator; the first one starts the thread that reads the signals.
    public func makeAsyncIterator() -> AsyncIterator {
        storage.startReading()
        return AsyncIterator(iterator: storage.stream.makeAsyncIterator(), storage: storage)
    }

    /// Hands out the signals in the order they came.
    public struct AsyncIterator: AsyncIteratorProtocol {
        private var iterator: AsyncStream<ProcessSignal>.Iterator
        // Keeps the trap set while iterating.
        private let storage: Storage

        fileprivate init(iterator: AsyncStream<ProcessSignal>.Iterator, storage: Storage) {
            self.iterator = iterator
            self.storage = storage
        }

        /// The next signal; nil once the iterating task is cancelled.
        public mutating func next() async -> ProcessSignal? {
            await iterator.next()
        }
    }

    /// The trap, and the stream its reader feeds.
    fileprivate final class Storage: Sendable {
        let stream: AsyncStream<ProcessSignal>
        private let continuation: AsyncStream<ProcessSignal>.Continuation
        private let trap: SignalTrap
        private let started = Mutex(false)

        init(_ trap: SignalTrap) {
            self.trap = trap
            (stream, continuation) = AsyncStream.makeStream(of: ProcessSignal.self, bufferingPolicy: .unbounded)
        }

        /// Starts the reader once: it yields every signal until the trap is
        /// released, then closes its end and ends the stream. Without a
        /// thread (EAGAIN) the stream ends at once rather than wait for ever.
        func startReading() {
            let (trap, continuation) = (self.trap, self.continuation)
            let first = started.withLock { started in
                defer { started = true }
                return !started
            }
            guard first else { return }
            do {
                try BackgroundThread.start {
                    while let signals = trap.wait() {
                        for signal in signals { continuation.yield(signal) }
                    }
                    trap.closeReadingEnd()
                    continuation.finish()
                }
            } catch {
                continuation.finish()
            }
        }

        deinit {
            trap.release()
            if !started.withLock({ $0 }) {
                trap.closeReadingEnd()
                continuation.finish()
            }
        }
    }
}
