/// A start option / config key: its name (the option without "--"), how it
/// takes its value, and what it means.
public struct ConfigurationKey: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// Takes one value; a later setting replaces an earlier one.
        case value
        /// Takes one value each time; settings accumulate.
        case list
        /// On the command line, a bare `--name` (or `--name=yes|no`); in a file, `name = yes|no`.
        case flag
    }

    public var name: String
    public var kind: Kind
    /// What the value looks like in help text ("DIR", "DURATION").
    public var placeholder: String
    public var summary: String
    /// The default, as text.
    public var defaultValue: String
}

/// A bad setting: an unknown key (with a suggestion) or a bad value.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var key: String
    public var message: String
    /// For a bad value: the value and what was expected, to word the
    /// message for a file ("bad value for key") or a command line ("for --key").
    public var badValue: (value: String, reason: String)?

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    static func badValue(_ key: String, _ value: String, _ reason: String) -> ConfigurationError {
        var error = ConfigurationError(key: key, message: "bad value for \(key): '\(value)' (\(reason))")
        error.badValue = (value, reason)
        return error
    }

    /// The message naming the key as the option `--key`.
    public var optionMessage: String {
        guard let badValue else { return message }
        return "bad value for --\(key): '\(badValue.value)' (\(badValue.reason))"
    }

    public var description: String { message }

    public static func == (a: ConfigurationError, b: ConfigurationError) -> Bool { a.key == b.key && a.message == b.message }
    public func hash(into hasher: inout Hasher) { hasher.combine(key); hasher.combine(message) }
}

extension ServiceConfiguration {
    /// Every key, in the order help and `check` show them.
    public static let keys: [ConfigurationKey] = [
        ConfigurationKey(name: "command", kind: .value, placeholder: "COMMAND", summary: "the command line (words split with shell quoting, no expansion)", defaultValue: ""),
        ConfigurationKey(name: "shell", kind: .flag, placeholder: "", summary: "run the command through /bin/sh -c", defaultValue: "no"),
        ConfigurationKey(name: "chdir", kind: .value, placeholder: "DIR", summary: "working directory", defaultValue: "/"),
        ConfigurationKey(name: "umask", kind: .value, placeholder: "MODE", summary: "octal umask", defaultValue: "022"),
        ConfigurationKey(name: "user", kind: .value, placeholder: "USER[:GROUP]", summary: "run as this user (initgroups, setgid, setuid)", defaultValue: "unchanged"),
        ConfigurationKey(name: "group", kind: .value, placeholder: "GROUP", summary: "run with this group", defaultValue: "unchanged"),
        ConfigurationKey(name: "env", kind: .list, placeholder: "NAME=VALUE", summary: "set an environment variable (repeatable)", defaultValue: ""),
        ConfigurationKey(name: "clear-env", kind: .flag, placeholder: "", summary: "start from an empty environment", defaultValue: "no"),
        ConfigurationKey(name: "log", kind: .value, placeholder: "FILE|none", summary: "where stdout and stderr go", defaultValue: "<log dir>/NAME.log"),
        ConfigurationKey(name: "log-max-size", kind: .value, placeholder: "SIZE", summary: "rotate the log at this size", defaultValue: "10M"),
        ConfigurationKey(name: "log-keep", kind: .value, placeholder: "N", summary: "rotated logs to keep", defaultValue: "5"),
        ConfigurationKey(name: "log-timestamps", kind: .flag, placeholder: "", summary: "prefix each log line with an RFC 3339 UTC time", defaultValue: "no"),
        ConfigurationKey(name: "no-supervise", kind: .flag, placeholder: "", summary: "exec mode: no resident swiftd", defaultValue: "no"),
        ConfigurationKey(name: "restart", kind: .value, placeholder: "no|on-failure|always", summary: "respawn policy", defaultValue: "on-failure"),
        ConfigurationKey(name: "restart-delay", kind: .value, placeholder: "DURATION", summary: "first delay between respawns (doubles each time)", defaultValue: "100ms"),
        ConfigurationKey(name: "restart-max-delay", kind: .value, placeholder: "DURATION", summary: "longest delay between respawns", defaultValue: "30s"),
        ConfigurationKey(name: "start-limit", kind: .value, placeholder: "N/PERIOD", summary: "give up after N starts within PERIOD", defaultValue: "5/60s"),
        ConfigurationKey(name: "restart-exit-code", kind: .value, placeholder: "CODE", summary: "an exit with this code means \"restart me now\"", defaultValue: "75"),
        ConfigurationKey(name: "ready", kind: .value, placeholder: "exec|notify|fd:N", summary: "when start reports success", defaultValue: "exec"),
        ConfigurationKey(name: "min-uptime", kind: .value, placeholder: "DURATION", summary: "with --ready exec, how long the service must stay up", defaultValue: "100ms"),
        ConfigurationKey(name: "ready-timeout", kind: .value, placeholder: "DURATION", summary: "how long start waits for readiness", defaultValue: "30s"),
        ConfigurationKey(name: "stop-signal", kind: .value, placeholder: "SIGNAL", summary: "how stop asks", defaultValue: "TERM"),
        ConfigurationKey(name: "stop-timeout", kind: .value, placeholder: "DURATION", summary: "how long stop waits before SIGKILL", defaultValue: "10s"),
        ConfigurationKey(name: "reload-signal", kind: .value, placeholder: "SIGNAL", summary: "what reload sends", defaultValue: "HUP"),
        ConfigurationKey(name: "watch", kind: .list, placeholder: "PATH", summary: "restart or reload when this file or directory changes (repeatable)", defaultValue: ""),
        ConfigurationKey(name: "watch-action", kind: .value, placeholder: "restart|reload", summary: "what a watched change does", defaultValue: "restart"),
        ConfigurationKey(name: "nice", kind: .value, placeholder: "N", summary: "scheduling priority (-20 to 19)", defaultValue: "unchanged"),
    ]

    /// The key named `name`.
    public static func key(_ name: String) -> ConfigurationKey? { keys.first { $0.name == name } }

    /// The closest key name to `name`, for "did you mean" (edit distance at most 3).
    public static func suggestion(for name: String) -> String? {
        Suggestion.closest(to: name, among: keys.map(\.name))
    }

    /// Applies one setting: `key` is a key name, `value` its text (for flags
    /// "yes"/"no"/"true"/"false"/"1"/"0"; lists append).
    public mutating func apply(_ key: String, _ value: String) throws {
        func bad(_ reason: String) -> ConfigurationError {
            .badValue(key, value, reason)
        }
        func flag() throws -> Bool {
            switch value.lowercased() {
            case "yes", "true", "1", "on", "": return true
            case "no", "false", "0", "off": return false
            default: throw bad("expected yes or no")
            }
        }
        func interval() throws -> Interval {
            guard let v = Interval(parsing: value) else { throw bad("expected a duration like 250ms, 10s, 5m, 1h") }
            return v
        }
        func signal() throws -> Signal {
            guard let v = Signal(parsing: value) else { throw bad("expected a signal like TERM, SIGTERM or 15") }
            return v
        }
        switch key {
        case "command":
            do {
                try setCommandLine(value)
            } catch {
                throw bad("\(error)")
            }
            if command.isEmpty { throw bad("empty command") }
        case "shell": shell = try flag()
        case "chdir":
            guard value.hasPrefix("/") else { throw bad("expected an absolute path") }
            chdir = value
        case "umask":
            guard !value.isEmpty, value.count <= 4, let m = mode_t(value, radix: 8), m <= 0o777 else { throw bad("expected an octal mode like 022") }
            umask = m
        case "user":
            guard !value.isEmpty else { throw bad("empty user") }
            if let colon = value.firstIndex(of: ":") {
                user = String(value[..<colon])
                let g = String(value[value.index(after: colon)...])
                guard !user!.isEmpty, !g.isEmpty else { throw bad("expected USER or USER:GROUP") }
                group = g
            } else {
                user = value
            }
        case "group":
            guard !value.isEmpty else { throw bad("empty group") }
            group = value
        case "env":
            guard let parts = value.splitAtFirst("="), !parts.before.isEmpty else { throw bad("expected NAME=VALUE") }
            environment.append(value)
        case "clear-env": clearEnvironment = try flag()
        case "log":
            if value == "none" { log = .none } else if value.isEmpty { throw bad("expected a file or none") } else { log = .file(value) }
        case "log-max-size":
            guard let v = ByteSize(parsing: value), v.bytes >= 4096 else { throw bad("expected a size like 512K, 10M, 1G (at least 4K)") }
            logMaxSize = v
        case "log-keep":
            guard let n = Int(value), (0...1000).contains(n) else { throw bad("expected a number from 0 to 1000") }
            logKeep = n
        case "log-timestamps": logTimestamps = try flag()
        case "no-supervise": supervise = !(try flag())
        case "restart":
            guard let p = RestartPolicy(rawValue: value) else { throw bad("expected no, on-failure or always") }
            restart = p
        case "restart-delay": restartDelay = try interval()
        case "restart-max-delay": restartMaxDelay = try interval()
        case "start-limit":
            guard let v = StartLimit(parsing: value) else { throw bad("expected N/PERIOD like 5/60s, or none") }
            startLimit = v
        case "restart-exit-code":
            guard let n = Int32(value), (1...255).contains(n) else { throw bad("expected an exit code from 1 to 255") }
            restartExitCode = n
        case "ready":
            guard let r = Readiness(parsing: value) else { throw bad("expected exec, notify or fd:N with N from 3 to 63") }
            ready = r
        case "min-uptime": minUptime = try interval()
        case "ready-timeout": readyTimeout = try interval()
        case "stop-signal": stopSignal = try signal()
        case "stop-timeout": stopTimeout = try interval()
        case "reload-signal": reloadSignal = try signal()
        case "watch":
            guard !value.isEmpty else { throw bad("empty path") }
            watch.append(value)
        case "watch-action":
            guard let a = WatchAction(rawValue: value) else { throw bad("expected restart or reload") }
            watchAction = a
        case "nice":
            guard let n = Int32(value), (-20...19).contains(n) else { throw bad("expected a number from -20 to 19") }
            nice = n
        default:
            let hint = ServiceConfiguration.suggestion(for: key).map { " (did you mean '\($0)'?)" } ?? ""
            throw ConfigurationError(key: key, message: "unknown key '\(key)'\(hint)")
        }
    }

    /// Every setting that differs from the default, as (key, value) pairs that
    /// `apply` reads back; lists give one pair per element.
    public var settings: [(String, String)] {
        let d = ServiceConfiguration(name: name)
        var s: [(String, String)] = []
        if !command.isEmpty { s.append(("command", shell ? shellCommand : CommandWords.quote(command))) }
        if shell { s.append(("shell", "yes")) }
        if chdir != d.chdir { s.append(("chdir", chdir)) }
        if umask != d.umask { s.append(("umask", "0" + String(umask, radix: 8))) }
        if let user { s.append(("user", user)) }
        if let group { s.append(("group", group)) }
        for e in environment { s.append(("env", e)) }
        if clearEnvironment { s.append(("clear-env", "yes")) }
        if log != d.log { s.append(("log", log.description)) }
        if logMaxSize != d.logMaxSize { s.append(("log-max-size", logMaxSize.description)) }
        if logKeep != d.logKeep { s.append(("log-keep", "\(logKeep)")) }
        if logTimestamps { s.append(("log-timestamps", "yes")) }
        if !supervise { s.append(("no-supervise", "yes")) }
        if restart != d.restart { s.append(("restart", restart.rawValue)) }
        if restartDelay != d.restartDelay { s.append(("restart-delay", restartDelay.description)) }
        if restartMaxDelay != d.restartMaxDelay { s.append(("restart-max-delay", restartMaxDelay.description)) }
        if startLimit != d.startLimit { s.append(("start-limit", startLimit.description)) }
        if restartExitCode != d.restartExitCode { s.append(("restart-exit-code", "\(restartExitCode)")) }
        if ready != d.ready { s.append(("ready", ready.description)) }
        if minUptime != d.minUptime { s.append(("min-uptime", minUptime.description)) }
        if readyTimeout != d.readyTimeout { s.append(("ready-timeout", readyTimeout.description)) }
        if stopSignal != d.stopSignal { s.append(("stop-signal", stopSignal.name)) }
        if stopTimeout != d.stopTimeout { s.append(("stop-timeout", stopTimeout.description)) }
        if reloadSignal != d.reloadSignal { s.append(("reload-signal", reloadSignal.name)) }
        for w in watch { s.append(("watch", w)) }
        if watchAction != d.watchAction { s.append(("watch-action", watchAction.rawValue)) }
        if let nice { s.append(("nice", "\(nice)")) }
        return s
    }

    /// The effective value of every key, as text (for `check`).
    public func value(of key: String) -> String {
        switch key {
        case "command": return shell ? shellCommand : CommandWords.quote(command)
        case "shell": return shell ? "yes" : "no"
        case "chdir": return chdir
        case "umask": return "0" + String(umask, radix: 8)
        case "user": return user ?? "(unchanged)"
        case "group": return group ?? "(unchanged)"
        case "env": return environment.map(CommandWords.quote).joined(separator: " ")
        case "clear-env": return clearEnvironment ? "yes" : "no"
        case "log": return log.description
        case "log-max-size": return logMaxSize.description
        case "log-keep": return "\(logKeep)"
        case "log-timestamps": return logTimestamps ? "yes" : "no"
        case "no-supervise": return supervise ? "no" : "yes"
        case "restart": return restart.rawValue
        case "restart-delay": return restartDelay.description
        case "restart-max-delay": return restartMaxDelay.description
        case "start-limit": return startLimit.description
        case "restart-exit-code": return "\(restartExitCode)"
        case "ready": return ready.description
        case "min-uptime": return minUptime.description
        case "ready-timeout": return readyTimeout.description
        case "stop-signal": return stopSignal.name
        case "stop-timeout": return stopTimeout.description
        case "reload-signal": return reloadSignal.name
        case "watch": return watch.map(CommandWords.quote).joined(separator: " ")
        case "watch-action": return watchAction.rawValue
        case "nice": return nice.map(String.init) ?? "(unchanged)"
        default: return ""
        }
    }

    /// Checks combinations no single key can: a command exists, and options
    /// that need the resident supervisor are not given in exec mode.
    public func validate() throws {
        if command.isEmpty { throw ConfigurationError(key: "command", message: "no command given for \(name)") }
        if !supervise {
            if !watch.isEmpty { throw ConfigurationError(key: "watch", message: "watch needs the supervisor (it cannot be used with no-supervise)") }
            if logTimestamps { throw ConfigurationError(key: "log-timestamps", message: "log-timestamps needs the supervisor (it cannot be used with no-supervise)") }
        }
        if restartMaxDelay < restartDelay { throw ConfigurationError(key: "restart-max-delay", message: "restart-max-delay (\(restartMaxDelay)) is shorter than restart-delay (\(restartDelay))") }
    }
}
