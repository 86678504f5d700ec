public import Glibc

/// Everything about how to start a program, decided before the fork.
public struct LaunchConfiguration: Sendable {
    /// Where a standard stream of the program goes.
    public enum Stream: Hashable, Sendable {
        /// The caller's own descriptor with the same number (/dev/null if it is closed).
        case inherit
        /// `/dev/null`.
        case null
        /// A descriptor of the caller's; it stays open in the caller.
        case descriptor(CInt)
        /// A file, opened by the caller (created 0644, appended or truncated, symlinks refused).
        case file(String, append: Bool)
    }

    /// How the program relates to the caller's session.
    public enum Session: Hashable, Sendable {
        /// Same session and process group as the caller.
        case inherit
        /// Its own process group in the caller's session (`setpgid`).
        case newProcessGroup
        /// Its own session and process group (`setsid`), no controlling terminal.
        case newSession
    }

    /// A name looked up in `PATH`, or a path (relative ones are taken against
    /// the caller's current directory).
    public var executable: String
    /// Arguments after `argv[0]`.
    public var arguments: [String]
    /// `argv[0]`; the executable as given by default.
    public var argv0: String?
    /// "NAME=VALUE" entries (`execve`'s `envp`); nil inherits the caller's environment.
    public var environment: [String]?
    /// The working directory (`chdir`); nil keeps the caller's.
    public var workingDirectory: String?
    /// The file mode creation mask (`umask`); nil keeps the caller's.
    public var umask: mode_t?
    /// Who to run as (`setgroups`, `setgid`, `setuid`, in that order); nil: unchanged.
    public var credentials: Credentials?
    /// Session and process group.
    public var session: Session
    /// Standard input.
    public var standardInput: Stream
    /// Standard output.
    public var standardOutput: Stream
    /// Standard error.
    public var standardError: Stream
    /// Further descriptors: the program's number -> the caller's descriptor.
    /// Every descriptor not listed here or as a stream is closed.
    public var descriptors: [CInt: CInt]
    /// The scheduling priority (`setpriority`); nil: unchanged.
    public var nice: Int32?
    /// The signal the program gets when the caller dies (`prctl(PR_SET_PDEATHSIG)`,
    /// set after the privilege drop); nil: none.
    public var parentDeathSignal: ProcessSignal?
    /// Resource limits (`setrlimit`, before the privilege drop, so that a
    /// hard limit can be raised); empty: the caller's.
    public var resourceLimits: [ResourceLimit] = []
    /// A directory to change root to before the exec (`chroot`): the
    /// executable and its `PATH` are looked up inside it before the fork,
    /// and `workingDirectory` is taken inside it ("/" when nil); nil: none.
    public var rootDirectory: String?
    /// The I/O scheduling class and level (`ioprio_set`); nil: the caller's.
    public var ioScheduling: IOScheduling?
    /// The CPU scheduling policy and priority (`sched_setscheduler`); nil: the caller's.
    public var cpuScheduling: CPUScheduling?
    /// The OOM killer's adjustment, -1000 (never) to 1000, written to
    /// `/proc/self/oom_score_adj` before the chroot and the privilege drop; nil: the caller's.
    public var oomScoreAdjustment: Int32?
    /// Sockets passed by the socket-activation protocol (`Listeners`): the
    /// first becomes the program's descriptor 3, the next 4, and so on, and
    /// `LISTEN_FDS`, `LISTEN_FDNAMES` and `LISTEN_PID` are set in its
    /// environment, `LISTEN_PID` to its own pid by the child between `fork`
    /// and `execve`; `descriptors` must then start above them. Empty: none
    /// (and those variables are not passed on).
    public var listeners: [Listeners.Socket] = []

    /// A launch of `executable` with `arguments`; every other setting as named.
    public init(executable: String, arguments: [String] = [], argv0: String? = nil, environment: [String]? = nil,
                workingDirectory: String? = nil, umask: mode_t? = nil, credentials: Credentials? = nil,
                session: Session = .inherit, standardInput: Stream = .null, standardOutput: Stream = .inherit,
                standardError: Stream = .inherit, descriptors: [CInt: CInt] = [:], nice: Int32? = nil,
                parentDeathSignal: ProcessSignal? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.argv0 = argv0
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.umask = umask
        self.credentials = credentials
        self.session = session
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.descriptors = descriptors
        self.nice = nice
        self.parentDeathSignal = parentDeathSignal
    }

    /// The value of `name` in the configured environment (or the caller's).
    public func environmentValue(_ name: String) -> String? {
        let entries = environment ?? Environment.current()
        let prefix = name + "="
        return entries.last(where: { $0.hasScalarPrefix(prefix) }).map { String($0.unicodeScalars.dropFirst(prefix.unicodeScalars.count)) }
    }
}
