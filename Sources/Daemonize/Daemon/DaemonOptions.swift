public import SwiftGlibc

/// How `Daemon.detach` sets up the daemon.
public struct DaemonOptions: Sendable {
    /// Where one of the daemon's standard streams goes.
    public enum Output: Hashable, Sendable {
        /// `/dev/null`.
        case null
        /// A log file, opened for appending before the fork (created 0644;
        /// a symlink, another user's file or a file with other names is refused).
        case file(String)
    }

    /// A pidfile the daemon locks and writes its pid to; nil for none.
    public var pidFile: String?
    /// Permissions of the pidfile. Keep 0600: a user who can open it can lock it.
    public var pidFileMode: mode_t
    /// Remove the pidfile when the daemon ends through `exit` or a return
    /// from `main` (an `atexit` handler; a daemon killed by a signal leaves
    /// a stale, unlocked file, which counts as not running). After a
    /// privilege drop the file is removed only where the new user may.
    public var removePIDFileAtExit: Bool
    /// The daemon's working directory (`chdir`).
    public var workingDirectory: String
    /// The daemon's file mode creation mask (`umask`).
    public var umask: mode_t
    /// Standard output; standard input is always `/dev/null`.
    public var standardOutput: Output
    /// Standard error (the same file as `standardOutput` shares its descriptor).
    public var standardError: Output
    /// Descriptors above 2 the daemon keeps (every other one is closed).
    public var keepDescriptors: [CInt]
    /// The user to become once the pidfile is locked and the privileged
    /// action has run, a name or a number; nil: stay who you are. Looked up
    /// before the fork in `/etc/passwd` and `/etc/group` only (no NSS: give
    /// a user or group from LDAP or SSSD by number), with the supplementary
    /// groups `/etc/group` lists for it, then set with `setgroups`, `setgid`
    /// and `setuid`, in that order.
    public var user: String?
    /// The group to become; nil: the user's primary group.
    public var group: String?
    /// How long the original process waits for `ready()` or `fail(_:)`;
    /// then it stops the daemon (SIGTERM, SIGKILL 5 seconds later) and exits 1.
    /// Nil: for ever.
    public var readyTimeout: Duration?

    /// Options with the classic defaults: no pidfile, `/` and umask 022,
    /// output to `/dev/null`, no privilege drop, no ready timeout.
    public init(pidFile: String? = nil, pidFileMode: mode_t = 0o600, removePIDFileAtExit: Bool = true,
                workingDirectory: String = "/", umask: mode_t = 0o022,
                standardOutput: Output = .null, standardError: Output = .null, keepDescriptors: [CInt] = [],
                user: String? = nil, group: String? = nil, readyTimeout: Duration? = nil) {
        self.pidFile = pidFile
        self.pidFileMode = pidFileMode
        self.removePIDFileAtExit = removePIDFileAtExit
        self.workingDirectory = workingDirectory
        self.umask = umask
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.keepDescriptors = keepDescriptors
        self.user = user
        self.group = group
        self.readyTimeout = readyTimeout
    }
}

/// Why a process could not become a daemon before it forked. (Other
/// failures are the underlying error: a `SystemError` naming the call and
/// the path, a `PIDFile.Locked`, an `InvalidFile`, a `CredentialsError`.)
public enum DaemonError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Forking a process with threads leaves locks held by threads that do
    /// not exist in the child: detach first, before any thread (Swift
    /// concurrency and Dispatch start threads that never go away).
    case multithreaded(threads: Int)

    /// "cannot detach: the process has 3 threads (...)".
    public var description: String {
        switch self {
        case .multithreaded(let n): return "cannot detach: the process has \(n) threads (detach before starting any thread)"
        }
    }
}
