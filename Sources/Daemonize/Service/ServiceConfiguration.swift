public import SwiftGlibc

/// How a service is started and supervised: every start option of the
/// command line and every key of `NAME.conf`, with DESIGN.md's defaults.
public struct ServiceConfiguration: Hashable, Sendable {
    /// When to respawn the service after it exits.
    public enum RestartPolicy: String, Hashable, Sendable, CaseIterable {
        /// Never (but `restartExitCode` still restarts).
        case no
        /// After an exit with a non-zero status or by a signal.
        case onFailure = "on-failure"
        /// After any exit.
        case always
    }

    /// When `start` reports success.
    public enum Readiness: Hashable, Sendable, CustomStringConvertible {
        /// Once the command has been exec'd and stayed up for `minUptime`.
        case exec
        /// When the service sends READY=1 to `$NOTIFY_SOCKET` (sd_notify).
        case notify
        /// When the service writes a newline to this descriptor (s6 style).
        case descriptor(Int32)

        /// "exec", "notify" or "fd:N", as `init(parsing:)` reads it.
        public var description: String {
            switch self {
            case .exec: return "exec"
            case .notify: return "notify"
            case .descriptor(let n): return "fd:\(n)"
            }
        }

        /// Parses "exec", "notify" or "fd:N" (N from 3 to 63).
        public init?(parsing text: String) {
            switch text {
            case "exec": self = .exec
            case "notify": self = .notify
            default:
                guard text.hasPrefix("fd:"), let n = Int32(text.dropFirst(3)), (3...63).contains(n) else { return nil }
                self = .descriptor(n)
            }
        }
    }

    /// What a change in a watched path does.
    public enum WatchAction: String, Hashable, Sendable, CaseIterable {
        /// Restart the service.
        case restart
        /// Send it the reload signal.
        case reload
    }

    /// How a restart replaces the running instance (`restart-mode`).
    package enum RestartMode: String, Hashable, Sendable, CaseIterable {
        /// Stop it, then start the new one.
        case stopFirst = "stop-first"
        /// Start the new one, and once it is ready stop the old one.
        case overlap
    }

    /// Who a stop's first signal goes to (`kill-mode`).
    package enum KillMode: String, Hashable, Sendable, CaseIterable {
        /// Every process of the service.
        case group
        /// The main process only; the rest get the later signals of the
        /// schedule, and KILL at its end.
        case main
    }

    /// Where the service's output goes.
    public enum LogTarget: Hashable, Sendable, CustomStringConvertible {
        /// `<log dir>/NAME.log` (in the foreground: swiftd's own output).
        case automatic
        /// This file.
        case file(String)
        /// Nowhere (`/dev/null`).
        case none
        /// To syslog, a datagram a line (standard output at `info`, standard
        /// error at `err`), with this facility.
        case syslog(SyslogFacility)

        /// "default", the path, "none", or "syslog:FACILITY".
        public var description: String {
            switch self {
            case .automatic: return "default"
            case .file(let path): return path
            case .none: return "none"
            case .syslog(let facility): return "syslog:\(facility.rawValue)"
            }
        }
    }

    /// A syslog facility, as `logger(1)` names it.
    public enum SyslogFacility: String, Hashable, Sendable, CaseIterable {
        /// Facilities 1 to 11, in the order of syslog(3).
        case user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp
        /// Facilities 16 to 23, for local use.
        case local0, local1, local2, local3, local4, local5, local6, local7

        /// The facility's number (the `LOG_` constant divided by 8).
        public var code: Int32 {
            let index = Int32(SyslogFacility.allCases.firstIndex(of: self)!)
            return index < 11 ? index + 1 : index + 5
        }
    }

    /// N starts within PERIOD before the supervisor gives up (N = 0: never).
    public struct StartLimit: Hashable, Sendable, CustomStringConvertible {
        /// Starts allowed within `period` (0: no limit).
        public var count: Int
        /// The sliding window the starts are counted in.
        public var period: Interval

        /// `count` starts within `period`.
        public init(count: Int, period: Interval) {
            self.count = count
            self.period = period
        }

        /// Parses "N/PERIOD" ("5/60s"); "0" or "none" for no limit.
        public init?(parsing text: String) {
            if text == "0" || text == "none" { self.init(count: 0, period: .zero); return }
            let parts = text.split(scalar: "/", omittingEmpty: false)
            guard parts.count == 2, let n = Int(parts[0]), n >= 0, n <= 1_000_000, let p = Interval(parsing: String(parts[1])), p.nanoseconds > 0 else { return nil }
            self.init(count: n, period: p)
        }

        /// "5/60s": a period of whole seconds under an hour in seconds, as it
        /// is usually written; "none" for no limit.
        public var description: String {
            if count == 0 { return "none" }
            let seconds = period.nanoseconds / 1_000_000_000
            if period.nanoseconds % 1_000_000_000 == 0 && seconds > 0 && seconds < 3600 { return "\(count)/\(seconds)s" }
            return "\(count)/\(period)"
        }
    }

    /// Where the command came from.
    package enum Source: Hashable, Sendable, CustomStringConvertible {
        /// Given after `--` on the command line.
        case arguments
        /// The `command` key of this config file.
        case configFile(String)
        /// The service name, found as an executable in PATH.
        case searchPath

        package var description: String {
            switch self {
            case .arguments: return "arguments"
            case .configFile(let path): return "config:\(path)"
            case .searchPath: return "path"
            }
        }

        /// The command came from a config file (or a template).
        package var isConfigFile: Bool {
            if case .configFile = self { return true }
            return false
        }

        init?(record: String) {
            switch record {
            case "arguments": self = .arguments
            case "path": self = .searchPath
            default:
                guard record.hasPrefix("config:") else { return nil }
                self = .configFile(String(record.dropFirst(7)))
            }
        }
    }

    /// The service's name: its run files, its log and its process title.
    public var name: ServiceName
    /// The command and its arguments (`command`; `argv` is what runs).
    public var command: [String] = [] { didSet { commandLine = nil } }
    /// The command as written in a config file, kept verbatim for `shell`.
    public private(set) var commandLine: String?
    /// Run the command through `/bin/sh -c` (`shell`).
    public var shell = false
    /// Where the command came from (swiftd's record of it).
    package var source: Source = .arguments
    /// The working directory (`chdir`; the C function `chdir`).
    public var chdir = "/"
    /// The file mode creation mask (`umask`; the C function `umask`).
    public var umask: mode_t = 0o022
    /// The user to run as, a name or a number (`user`; `initgroups`, `setgid`,
    /// `setuid`); nil: the caller's.
    public var user: String?
    /// The group to run as, a name or a number (`group`); nil: the user's primary group.
    public var group: String?
    /// "NAME=VALUE" settings added to (or replacing in) the environment (`env`).
    public var environment: [String] = []
    /// Start from an empty environment, not the caller's (`clear-env`).
    public var clearEnvironment = false
    /// Files of "NAME=VALUE" lines read at each start, before the `env`
    /// settings (`env-file`); a path after "-" may be missing.
    public var environmentFiles: [String] = []
    /// What `environmentFiles` held at this start (`readEnvironmentFiles`):
    /// never recorded, read again by the next start.
    package var fileEnvironment: [String] = []
    /// Where the service's output goes (`log`).
    public var log: LogTarget = .automatic
    /// The log is rotated when it reaches this size (`log-max-size`).
    public var logMaxSize = ByteSize(bytes: 10 << 20)
    /// Rotated logs kept, `NAME.log.1` ... (`log-keep`).
    public var logKeep = 5
    /// Each log line begins with the time it was written (`log-timestamps`).
    public var logTimestamps = false
    /// A resident supervisor (true), or the command exec'd in place of the
    /// daemon (`--no-supervise`, swiftd's exec mode).
    package var supervise = true
    /// When the service is respawned after it exits (`restart`).
    public var restart: RestartPolicy = .onFailure
    /// The first respawn's delay, doubled for each quick failure (`restart-delay`).
    public var restartDelay = Interval.milliseconds(100)
    /// The longest respawn delay (`restart-max-delay`).
    public var restartMaxDelay = Interval.seconds(30)
    /// How many starts within a period before giving up (`start-limit`).
    public var startLimit = StartLimit(count: 5, period: .seconds(60))
    /// An exit with this status asks for a restart at once, whatever
    /// `restart` says (`restart-exit-code`); nil: none.
    public var restartExitCode: Int32? = 75
    /// When the start counts as done (`ready`).
    public var ready: Readiness = .exec
    /// With `ready = .exec`, how long the command must stay up (`min-uptime`).
    public var minUptime = Interval.milliseconds(100)
    /// How long the start may take before it fails (`ready-timeout`).
    public var readyTimeout = Interval.seconds(30)
    /// The command puts itself in the background (a classic forking daemon)
    /// and writes the pid of the process it leaves to this file (`pidfile`):
    /// once its first process exits 0, that process is the service's main
    /// one. Nil: the command stays in the foreground.
    package var daemonPIDFile: String?
    /// With `ready = .notify`, the longest silence between two `WATCHDOG=1`
    /// before the service is killed (SIGABRT) and restarted by policy
    /// (`watchdog`); nil: no watchdog.
    public var watchdog: Interval?
    /// How the service is asked to stop (`stop-signal`): one signal, or a
    /// schedule of signals and waits.
    package var stopSchedule = StopSchedule(.terminate)
    /// The signal that stops the service: the first of `stop-signal`
    /// (setting it makes it the only one, followed by KILL after `stopTimeout`).
    public var stopSignal: ProcessSignal {
        get { stopSchedule.first }
        set { stopSchedule = StopSchedule(newValue) }
    }
    /// Who gets the first stop signal (`kill-mode`).
    package var killMode: KillMode = .group
    /// How long after the stop signal before SIGKILL (`stop-timeout`).
    public var stopTimeout = Interval.seconds(10)
    /// The signal `reload` sends (`reload-signal`).
    public var reloadSignal = ProcessSignal.hangup
    /// Files and directories whose content changes restart or reload the
    /// service (`watch`).
    public var watch: [String] = []
    /// What a watched change does (`watch-action`).
    public var watchAction: WatchAction = .restart
    /// Sockets the supervisor binds and holds, passed to every instance (`listen`).
    package var listen: [ListenAddress] = []
    /// How a restart replaces the running instance (`restart-mode`).
    package var restartMode: RestartMode = .stopFirst
    /// In an overlap restart, how long the new instance must stay up once
    /// ready before it takes over (`settle`; Kubernetes' minReadySeconds): one
    /// that dies meanwhile is a failed restart and the old one serves on.
    /// gunicorn's master says READY=1 before its worker loads the app; with a
    /// syntax error in app.py it exits 3 after 322 ms (median; 454 ms at most
    /// in 20 runs) on 2 cores at a load of 12-13, 604 ms (1,207 ms at most)
    /// with two busy loops more (bench/boot-failure). 2 s leaves four times
    /// the first margin, 1.7 times the second.
    package var settle = Interval.seconds(2)
    /// `swiftd run` only: its exit code when NAME is already running
    /// (`busy-exit-code`, as `flock -E`).
    package var busyExitCode: Int32 = 1
    /// The scheduling priority (`nice`; the C function `setpriority`); nil: the caller's.
    public var nice: Int32?
    /// Resource limits, one per resource (`limit`; the C function `setrlimit`); empty: the caller's.
    public var limits: [ResourceLimit] = []
    /// The directory the service is changed root to (`chroot`), its command
    /// looked up inside it before anything starts; nil: none.
    public var rootDirectory: String?
    /// The I/O scheduling class and level (`iosched`; the C function `ioprio_set`); nil: the caller's.
    public var ioScheduling: IOScheduling?
    /// The CPU scheduling policy and priority (`cpusched`; the C function `sched_setscheduler`); nil: the caller's.
    public var cpuScheduling: CPUScheduling?
    /// The service's `/proc/self/oom_score_adj`, -1000 to 1000 (`oom-score-adjust`); nil: the caller's.
    public var oomScoreAdjustment: Int32?
    /// The options given on the command line ("key=value"), in order: kept so
    /// that `restart` of a service from a config file applies them again
    /// on top of the file it re-reads.
    package var commandLineOptions: [String] = []

    /// A service named `name` with every default of DESIGN.md; set `command`.
    public init(name: ServiceName) {
        self.name = name
    }

    /// The argv to exec: `command`, or `/bin/sh -c COMMAND` with `shell`
    /// (the line as written, or the arguments joined by spaces).
    public var argv: [String] {
        if shell { return ["/bin/sh", "-c", shellCommand] }
        return command
    }

    /// The text `/bin/sh -c` runs with `shell`.
    public var shellCommand: String { commandLine ?? command.joined(separator: " ") }

    /// Sets the command from a line of text, split into words with quoting.
    public mutating func setCommandLine(_ line: String) throws {
        command = try CommandWords.split(line)
        commandLine = line
    }

    /// The log file, nil for none. In the `foreground` (`swiftd run`) the
    /// default is swiftd's own output: no file.
    package func logFile(in paths: ServicePaths, foreground: Bool = false) -> String? {
        switch log {
        case .automatic: return foreground ? nil : paths.defaultLogFile(name)
        case .file(let path): return Path.absolute(path)
        case .none, .syslog: return nil
        }
    }
}
