internal import Glibc
internal import CDaemonize

/// Signals delivered as readable records on a descriptor (`signalfd`), so the
/// supervisor's loop handles them like any other event: no handlers, no races.
final class SignalWatcher {
    /// One delivered signal.
    struct Delivery {
        var signal: ProcessSignal
        /// The sender's pid.
        var sender: pid_t
        /// The payload of a queued signal (`SI_QUEUE`), else nil.
        var value: Int64?
    }

    let descriptor: FileDescriptor

    /// Blocks `signals` for the process and opens a signalfd for them.
    init(_ signals: [ProcessSignal]) throws {
        var mask = sigset_t()
        sigemptyset(&mask)
        for s in signals { sigaddset(&mask, s.rawValue) }
        if sigprocmask(SIG_BLOCK, &mask, nil) != 0 { throw SystemError("sigprocmask") }
        let fd = signalfd(-1, &mask, Int32(SFD_CLOEXEC) | Int32(SFD_NONBLOCK))
        if fd < 0 { throw SystemError("signalfd") }
        descriptor = FileDescriptor(rawValue: fd)
    }

    /// The next pending signal, or nil when none is pending.
    func next() -> Delivery? {
        var info = signalfd_siginfo()
        let size = MemoryLayout<signalfd_siginfo>.size
        let n = withUnsafeMutableBytes(of: &info) { buffer in
            retryingOnInterrupt { read(descriptor.rawValue, buffer.baseAddress, size) }
        }
        guard n == size else { return nil }
        let queued = info.ssi_code == SI_QUEUE
        return Delivery(signal: ProcessSignal(rawValue: Int32(info.ssi_signo)), sender: pid_t(bitPattern: info.ssi_pid),
                        value: queued ? Int64(bitPattern: info.ssi_ptr) : nil)
    }
}
