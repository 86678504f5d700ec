/// How `Daemon.detach` sets up the daemon.
public struct DaemonOptions: Sendable {
    /// Where the daemon's standard output and error go.
    public enum Output: Hashable, Sendable {
        /// `/dev/null`.
        case null
        /// A log file, opened for appending before the fork (created 0644).
        case file(String)
    }

    /// A pidfile the daemon locks and writes its pid to; nil for none.
    public var pidFile: String?
    /// Permissions of the pidfile. Keep 0600: a user who can open it can lock it.
    public var pidFileMode: mode_t
    /// The daemon's working directory.
    public var workingDirectory: String
    /// The daemon's file mode creation mask.
    public var umask: mode_t
    /// Standard output and error; standard input is always `/dev/null`.
    public var output: Output
    /// Descriptors above 2 the daemon keeps (every other one is closed).
    public var keepDescriptors: [FileDescriptor]

    public init(pidFile: String? = nil, pidFileMode: mode_t = 0o600, workingDirectory: String = "/", umask: mode_t = 0o022,
                output: Output = .null, keepDescriptors: [FileDescriptor] = []) {
        self.pidFile = pidFile
        self.pidFileMode = pidFileMode
        self.workingDirectory = workingDirectory
        self.umask = umask
        self.output = output
        self.keepDescriptors = keepDescriptors
    }
}

/// Why a process could not become a daemon.
public enum DaemonError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Forking a process with threads leaves locks held by threads that do not exist in the child.
    case multithreaded(threads: Int)
    /// The pidfile's directory is missing or not writable.
    case pidFileDirectory(SystemError)
    /// The pidfile exists but cannot be used (a FIFO, unreadable...).
    case unusablePIDFile(String)

    public var description: String {
        switch self {
        case .multithreaded(let n): return "cannot detach: the process has \(n) threads (detach before starting any thread)"
        case .pidFileDirectory(let error): return "pidfile directory: \(error)"
        case .unusablePIDFile(let reason): return reason
        }
    }
}
