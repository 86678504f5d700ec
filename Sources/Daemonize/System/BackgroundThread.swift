internal import Glibc

/// A thread of its own for a loop that blocks in a system call (the reader
/// of a `SignalSequence`), so that no Swift concurrency thread is held.
enum BackgroundThread {
    private final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts a detached thread that runs `body`, with the calling thread's
    /// signal mask. The corresponding C functions are `pthread_create` and
    /// `pthread_detach`.
    static func start(_ body: @escaping @Sendable () -> Void) throws {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw SystemError("pthread_create", errno: Errno(rawValue: rc))
        }
        pthread_detach(thread)
    }
}
