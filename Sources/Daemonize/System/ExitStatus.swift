package import Glibc
internal import CDaemonize

/// How a process ended, as `waitpid` or `waitid` report it.
public enum ExitStatus: Hashable, Sendable, CustomStringConvertible {
    /// It called `exit` (or returned from `main`) with this status.
    case exited(Int32)
    /// A signal killed it.
    case signaled(ProcessSignal, coreDumped: Bool)

    /// Decodes a `waitpid` status word.
    package init(waitStatus status: Int32) {
        if dz_wifsignaled(status) != 0 {
            self = .signaled(ProcessSignal(rawValue: dz_wtermsig(status)), coreDumped: dz_wcoredump(status) != 0)
        } else {
            self = .exited(dz_wexitstatus(status))
        }
    }

    /// Decodes what `waitid` filled in.
    package init(siginfo info: siginfo_t) {
        var info = info
        let code = dz_siginfo_code(&info)
        let status = dz_siginfo_status(&info)
        switch code {
        case Int32(CLD_KILLED): self = .signaled(ProcessSignal(rawValue: status), coreDumped: false)
        case Int32(CLD_DUMPED): self = .signaled(ProcessSignal(rawValue: status), coreDumped: true)
        default: self = .exited(status)
        }
    }

    /// True for exit status 0.
    public var isSuccess: Bool { self == .exited(0) }

    /// The status a shell reports: the exit status, or 128 + the signal number.
    public var shellStatus: Int32 {
        switch self {
        case .exited(let code): return code
        case .signaled(let signal, _): return 128 + signal.rawValue
        }
    }

    /// "exited with status 1", "killed by signal KILL".
    public var description: String {
        switch self {
        case .exited(let code): return "exited with status \(code)"
        case .signaled(let signal, let core): return "killed by signal \(signal.name)" + (core ? " (core dumped)" : "")
        }
    }

    /// A compact form for files: "exit:1" or "signal:9" (":core" when dumped).
    package var record: String {
        switch self {
        case .exited(let code): return "exit:\(code)"
        case .signaled(let signal, let core): return "signal:\(signal.rawValue)" + (core ? ":core" : "")
        }
    }

    /// Reads `record`; nil for anything else.
    package init?(record: String) {
        let parts = record.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2, let n = Int32(parts[1]) else { return nil }
        switch parts[0] {
        case "exit": self = .exited(n)
        case "signal": self = .signaled(ProcessSignal(rawValue: n), coreDumped: parts.count > 2 && parts[2] == "core")
        default: return nil
        }
    }
}
