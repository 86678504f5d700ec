internal import Glibc

/// A launch that failed: the step, the errno and what the step was about.
///
/// Reads like "exec /usr/bin/missing: No such file or directory" or
/// "chdir /srv/nope: No such file or directory".
package struct LaunchError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where a launch can fail: before the fork (`lookup`, `open`), or a
    /// step of the child (`Spawn.Step`, named alike).
    package enum Step: String, Sendable {
        case lookup, open, pipe, fork, signals, setsid, descriptors, chdir, nice, setgroups, setgid, setuid, pdeathsig, close, exec
    }

    /// The step that failed.
    package var step: Step
    /// Why.
    package var errno: Errno
    /// The path or id the step was about.
    package var path: String?

    package init(step: Step, errno: Errno, path: String?) {
        self.step = step
        self.errno = errno
        self.path = path
    }

    package var description: String {
        let name = step == .lookup ? "exec" : step.rawValue
        let what = step == .lookup && errno == .noSuchFile ? "command not found" : errno.description
        if let path { return "\(name) \(path): \(what)" }
        return "\(name): \(what)"
    }
}
