/// How a service is started and supervised: every start option of the
/// command line and every key of `NAME.conf`, with DESIGN.md's defaults.
public struct ServiceConfiguration: Hashable, Sendable {
    /// When to respawn the service after it exits.
    public enum RestartPolicy: String, Hashable, Sendable, CaseIterable {
        case no
        case onFailure = "on-failure"
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
        case restart, reload
    }

    /// Where the service's output goes.
    public enum LogTarget: Hashable, Sendable, CustomStringConvertible {
        /// `<log dir>/NAME.log` (in the foreground: swiftd's own output).
        case automatic
        /// This file.
        case file(String)
        /// Nowhere (`/dev/null`).
        case none

        public var description: String {
            switch self {
            case .automatic: return "default"
            case .file(let path): return path
            case .none: return "none"
            }
        }
    }

    /// N starts within PERIOD before the supervisor gives up (N = 0: never).
    public struct StartLimit: Hashable, Sendable, CustomStringConvertible {
        public var count: Int
        public var period: Interval

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
    public enum Source: Hashable, Sendable, CustomStringConvertible {
        /// Given after `--` on the command line.
        case arguments
        /// The `command` key of this config file.
        case configFile(String)
        /// The service name, found as an executable in PATH.
        case searchPath

        public var description: String {
            switch self {
            case .arguments: return "arguments"
            case .configFile(let path): return "config:\(path)"
            case .searchPath: return "path"
            }
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

    public var name: ServiceName
    /// The command and its arguments.
    public var command: [String] = [] { didSet { commandLine = nil } }
    /// The command as written in a config file, kept verbatim for `shell`.
    public private(set) var commandLine: String?
    /// Run the command through `/bin/sh -c`.
    public var shell = false
    public var source: Source = .arguments
    public var chdir = "/"
    public var umask: mode_t = 0o022
    public var user: String?
    public var group: String?
    /// "NAME=VALUE" settings added to (or replacing in) the environment.
    public var environment: [String] = []
    public var clearEnvironment = false
    public var log: LogTarget = .automatic
    public var logMaxSize = ByteSize(bytes: 10 << 20)
    public var logKeep = 5
    public var logTimestamps = false
    public var supervise = true
    public var restart: RestartPolicy = .onFailure
    public var restartDelay = Interval.milliseconds(100)
    public var restartMaxDelay = Interval.seconds(30)
    public var startLimit = StartLimit(count: 5, period: .seconds(60))
    public var restartExitCode: Int32 = 75
    public var ready: Readiness = .exec
    public var minUptime = Interval.milliseconds(100)
    public var readyTimeout = Interval.seconds(30)
    public var stopSignal = Signal.terminate
    public var stopTimeout = Interval.seconds(10)
    public var reloadSignal = Signal.hangup
    public var watch: [String] = []
    public var watchAction: WatchAction = .restart
    public var nice: Int32?
    /// The options given on the command line ("key=value"), in order: kept so
    /// that `restart` of a service from a config file applies them again
    /// on top of the file it re-reads.
    public var commandLineOptions: [String] = []

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

    /// The log file, nil for none.
    public func logFile(in paths: ServicePaths) -> String? {
        switch log {
        case .automatic: return paths.defaultLogFile(name)
        case .file(let path): return Path.absolute(path)
        case .none: return nil
        }
    }
}
