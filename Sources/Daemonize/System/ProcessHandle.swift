package import Glibc
internal import CDaemonize

/// A process referred to by a pidfd: signals sent through it reach that
/// process or nobody, even if its pid has since been reused.
package struct ProcessHandle: Sendable {
    /// The pid the handle was opened for.
    package let pid: pid_t
    /// The pidfd.
    package let descriptor: FileDescriptor

    /// Adopts an open pidfd for `pid`.
    package init(pid: pid_t, descriptor: FileDescriptor) {
        self.pid = pid
        self.descriptor = descriptor
    }

    /// Opens a pidfd for `pid`. Throws ESRCH when no such process exists.
    ///
    /// The corresponding C function is `pidfd_open`.
    package static func open(pid: pid_t) throws -> ProcessHandle {
        guard pid > 0 else { throw SystemError("pidfd_open", errno: .noSuchProcess) }
        let fd = dz_pidfd_open(pid)
        if fd < 0 { throw SystemError("pidfd_open", path: "pid \(pid)") }
        return ProcessHandle(pid: pid, descriptor: FileDescriptor(rawValue: fd))
    }

    /// Sends `signal` to the process.
    ///
    /// The corresponding C function is `pidfd_send_signal`.
    package func send(_ signal: ProcessSignal) throws {
        if dz_pidfd_send_signal(descriptor.rawValue, signal.rawValue) != 0 {
            throw SystemError("pidfd_send_signal", path: "pid \(pid)")
        }
    }

    /// Sends `signal` with an integer payload (as `sigqueue` does).
    package func send(_ signal: ProcessSignal, value: Int64) throws {
        if dz_pidfd_send_signal_value(descriptor.rawValue, signal.rawValue, value) != 0 {
            throw SystemError("pidfd_send_signal", path: "pid \(pid)")
        }
    }

    /// True once the process has exited (a zombie counts as exited).
    package var hasExited: Bool {
        (try? descriptor.waitReadable(timeoutMilliseconds: 0)) ?? true
    }

    /// Waits until the process exits; false when `timeoutMilliseconds` passes
    /// first (negative: wait for ever). Does not reap.
    package func waitForExit(timeoutMilliseconds: Int32) -> Bool {
        (try? descriptor.waitReadable(timeoutMilliseconds: timeoutMilliseconds)) ?? true
    }

    /// Reaps the process, a child of the caller that has exited, and says
    /// how it ended.
    ///
    /// The corresponding C function is `waitid` (`P_PIDFD`).
    package func reap() throws -> ExitStatus {
        var info = siginfo_t()
        if dz_waitid_pidfd(descriptor.rawValue, &info, WEXITED) != 0 { throw SystemError("waitid", path: "pid \(pid)") }
        return ExitStatus(siginfo: info)
    }

    /// A second handle on the same process, closed on its own.
    package func duplicate() throws -> ProcessHandle {
        ProcessHandle(pid: pid, descriptor: try descriptor.duplicate())
    }

    /// Closes the pidfd.
    package func close() { descriptor.close() }
}
