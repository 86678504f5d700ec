internal import Glibc

/// A launch that failed: the step, the errno and what the step was about.
///
/// Reads like "exec /usr/bin/missing: No such file or directory" or
/// "chdir /srv/nope: No such file or directory".
public struct LaunchError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where a launch can fail: before the fork (`lookup`, `open`), or a
    /// step of the child (`Spawn.Step`, named alike).
    public enum Step: String, Sendable {
        /// Finding the executable in `PATH` (or checking the path given).
        case lookup
        /// Opening a file for a standard stream.
        case open
        /// The report pipe (`pipe2`).
        case pipe
        /// `fork`.
        case fork
        /// Resetting the signal mask and dispositions (`sigprocmask`, `sigaction`).
        case signals
        /// `setsid` or `setpgid`.
        case setsid
        /// Placing the descriptors (`dup2`).
        case descriptors
        /// `chdir`.
        case chdir
        /// `setpriority`.
        case nice
        /// `setgroups`.
        case setgroups
        /// `setgid`.
        case setgid
        /// `setuid`.
        case setuid
        /// `prctl(PR_SET_PDEATHSIG)`.
        case pdeathsig
        /// Closing every other descriptor (`close_range`).
        case close
        /// `execve`.
        case exec
        /// Writing `/proc/self/oom_score_adj`.
        case oomScoreAdjust = "oom_score_adj"
        /// `chroot` (or opening the directory, before the fork).
        case chroot
        /// `setrlimit`.
        case setrlimit
        /// `ioprio_set`.
        case ioprio = "ioprio_set"
        /// `sched_setscheduler`.
        case sched = "sched_setscheduler"
    }

    /// The step that failed.
    public var step: Step
    /// Why.
    public var errno: Errno
    /// The path or id the step was about.
    public var path: String?

    package init(step: Step, errno: Errno, path: String?) {
        self.step = step
        self.errno = errno
        self.path = path
    }

    /// "exec /usr/bin/missing: command not found", "chdir /srv: Permission denied".
    public var description: String {
        let name = step == .lookup ? "exec" : step.rawValue
        let what = step == .lookup && errno == .noSuchFile ? "command not found" : errno.description
        if let path { return "\(name) \(path): \(what)" }
        return "\(name): \(what)"
    }
}
