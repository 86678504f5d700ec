internal import Glibc

/// Every key, one entry each: adding an option is one entry here, plus its
/// lines in man/, etc/ and the completions (which tests keep in step).
extension ServiceConfiguration {
    /// Every key, in the order help and `check` show them.
    package static let keys: [ConfigurationKey] = [
        ConfigurationKey("command", .value, "COMMAND", "the command line (words split with shell quoting, no expansion)",
                         read: { c, v in
                             do { try c.setCommandLine(v) } catch { throw ConfigurationKey.bad("command", v, "\(error)") }
                             if c.command.isEmpty { throw ConfigurationKey.bad("command", v, "empty command") }
                         },
                         write: { c in c.command.isEmpty ? [] : [c.shell ? c.shellCommand : CommandWords.quote(c.command)] }),
        flag("shell", "run the command through /bin/sh -c", { $0.shell }, { $0.shell = $1 }),
        ConfigurationKey("chdir", .value, "DIR", "working directory",
                         read: { c, v in
                             guard v.isAbsolutePath else { throw ConfigurationKey.bad("chdir", v, "expected an absolute path") }
                             c.chdir = v
                         },
                         write: { [$0.chdir] }),
        ConfigurationKey("umask", .value, "MODE", "octal umask",
                         read: { c, v in
                             guard !v.isEmpty, v.count <= 4, let m = mode_t(v, radix: 8), m <= 0o777 else {
                                 throw ConfigurationKey.bad("umask", v, "expected an octal mode like 022")
                             }
                             c.umask = m
                         },
                         write: { c in ["0" + String(c.umask, radix: 8)] }),
        ConfigurationKey("user", .value, "USER[:GROUP]", "run as this user (initgroups, setgid, setuid)", unset: "unchanged",
                         read: { c, v in
                             guard !v.isEmpty else { throw ConfigurationKey.bad("user", v, "empty user") }
                             guard let (user, group) = v.splitAtFirst(":") else { c.user = v; return }
                             guard !user.isEmpty, !group.isEmpty else { throw ConfigurationKey.bad("user", v, "expected USER or USER:GROUP") }
                             c.user = user
                             c.group = group
                         },
                         write: { c in c.user.map { [$0] } ?? [] }),
        ConfigurationKey("group", .value, "GROUP", "run with this group", unset: "unchanged",
                         read: { c, v in
                             guard !v.isEmpty else { throw ConfigurationKey.bad("group", v, "empty group") }
                             c.group = v
                         },
                         write: { c in c.group.map { [$0] } ?? [] }),
        ConfigurationKey("env", .list, "NAME=VALUE", "set an environment variable (repeatable)",
                         read: { c, v in
                             guard let parts = v.splitAtFirst("="), !parts.before.isEmpty else { throw ConfigurationKey.bad("env", v, "expected NAME=VALUE") }
                             c.environment.append(v)
                         },
                         write: { $0.environment }),
        flag("clear-env", "start from an empty environment", { $0.clearEnvironment }, { $0.clearEnvironment = $1 }),
        ConfigurationKey("env-file", .list, "[-]FILE", "read NAME=VALUE lines at each start, before env (repeatable; -FILE may be missing)",
                         read: { c, v in
                             let path = v.begins(with: "-") ? String(v.unicodeScalars.dropFirst()) : v
                             guard path.isAbsolutePath else { throw ConfigurationKey.bad("env-file", v, "expected an absolute path, after - when it may be missing") }
                             c.environmentFiles.append(v)
                         },
                         write: { $0.environmentFiles }),
        ConfigurationKey("log", .value, "FILE|none|syslog[:FACILITY]", "where stdout and stderr go", unset: "<log dir>/NAME.log",
                         read: { c, v in c.log = try parseLogTarget(v) },
                         write: { c in
                             switch c.log {
                             case .automatic: return []
                             case .file(let path): return [path]
                             case .none: return ["none"]
                             case .syslog(let facility): return [facility == .daemon ? "syslog" : "syslog:\(facility.rawValue)"]
                             }
                         }),
        ConfigurationKey("log-max-size", .value, "SIZE", "rotate the log at this size",
                         read: { c, v in
                             guard let size = ByteSize(parsing: v), size.bytes >= 4096 else {
                                 throw ConfigurationKey.bad("log-max-size", v, "expected a size like 512K, 10M, 1G (at least 4K)")
                             }
                             c.logMaxSize = size
                         },
                         write: { [$0.logMaxSize.description] }),
        ConfigurationKey("log-keep", .value, "N", "rotated logs to keep",
                         read: { c, v in
                             guard let n = Int(v), (0...1000).contains(n) else { throw ConfigurationKey.bad("log-keep", v, "expected a number from 0 to 1000") }
                             c.logKeep = n
                         },
                         write: { ["\($0.logKeep)"] }),
        flag("log-timestamps", "prefix each log line with an RFC 3339 UTC time", { $0.logTimestamps }, { $0.logTimestamps = $1 }),
        ConfigurationKey("no-supervise", .flag, "", "exec mode: no resident swiftd",
                         read: { c, v in c.supervise = !(try parseFlag("no-supervise", v)) },
                         write: { [$0.supervise ? "no" : "yes"] }),
        choice("restart", "no|on-failure|always", "respawn policy", { $0.restart }, { $0.restart = $1 }, expected: "no, on-failure or always"),
        interval("restart-delay", "first delay between respawns (doubles each time)", { $0.restartDelay }, { $0.restartDelay = $1 }),
        interval("restart-max-delay", "longest delay between respawns", { $0.restartMaxDelay }, { $0.restartMaxDelay = $1 }),
        ConfigurationKey("start-limit", .value, "N/PERIOD", "allow N starts within PERIOD (the first included), then give up",
                         read: { c, v in
                             guard let limit = StartLimit(parsing: v) else { throw ConfigurationKey.bad("start-limit", v, "expected N/PERIOD like 5/60s, or none") }
                             c.startLimit = limit
                         },
                         write: { [$0.startLimit.description] }),
        ConfigurationKey("restart-exit-code", .value, "CODE|none", "an exit with this code means \"restart me now\"",
                         read: { c, v in
                             if v == "none" { c.restartExitCode = nil; return }
                             guard let n = Int32(v), (1...255).contains(n) else { throw ConfigurationKey.bad("restart-exit-code", v, "expected an exit code from 1 to 255, or none") }
                             c.restartExitCode = n
                         },
                         write: { [$0.restartExitCode.map(String.init) ?? "none"] }),
        ConfigurationKey("ready", .value, "exec|notify|fd:N", "when start reports success",
                         read: { c, v in
                             guard let ready = Readiness(parsing: v) else { throw ConfigurationKey.bad("ready", v, "expected exec, notify or fd:N with N from 3 to 63") }
                             c.ready = ready
                         },
                         write: { [$0.ready.description] }),
        interval("min-uptime", "with --ready exec, how long the service must stay up", { $0.minUptime }, { $0.minUptime = $1 }),
        interval("ready-timeout", "how long start waits for readiness", { $0.readyTimeout }, { $0.readyTimeout = $1 }),
        ConfigurationKey("pidfile", .value, "FILE|none", "the command puts itself in the background and writes its pid to FILE: supervise that process",
                         read: { c, v in
                             guard !v.isEmpty else { throw ConfigurationKey.bad("pidfile", v, "expected a file or none") }
                             c.daemonPIDFile = v == "none" ? nil : v
                         },
                         write: { c in [c.daemonPIDFile ?? "none"] },
                         check: { c in try c.daemonPIDFile.map(DaemonPIDFile.checkPlace) }),
        ConfigurationKey("watchdog", .value, "DURATION|off", "with --ready notify: kill and restart a service silent this long (WATCHDOG=1)",
                         read: { c, v in
                             if v == "off" { c.watchdog = nil; return }
                             guard let interval = Interval(parsing: v), interval.nanoseconds >= 1_000_000 else {
                                 throw ConfigurationKey.bad("watchdog", v, "expected a duration like 10s (at least 1ms), or off")
                             }
                             c.watchdog = interval
                         },
                         write: { c in [c.watchdog?.description ?? "off"] }),
        ConfigurationKey("stop-signal", .value, "SIGNAL|SCHEDULE", "how stop asks: a signal, or signals and waits like QUIT/5s/TERM/5s/KILL",
                         read: { c, v in
                             guard let schedule = StopSchedule(parsing: v) else {
                                 throw ConfigurationKey.bad("stop-signal", v, "expected a signal like TERM, or a schedule like QUIT/5s/TERM/5s/KILL")
                             }
                             c.stopSchedule = schedule
                         },
                         write: { [$0.stopSchedule.description] }),
        interval("stop-timeout", "how long stop waits after the last stop signal before SIGKILL", { $0.stopTimeout }, { $0.stopTimeout = $1 }),
        choice("kill-mode", "group|main", "who gets the first stop signal: every process, or the main one", { $0.killMode }, { $0.killMode = $1 },
               expected: "group or main"),
        signal("reload-signal", "what reload sends", { $0.reloadSignal }, { $0.reloadSignal = $1 }),
        ConfigurationKey("watch", .list, "PATH", "restart or reload when this file or directory changes (repeatable)",
                         read: { c, v in
                             guard !v.isEmpty else { throw ConfigurationKey.bad("watch", v, "empty path") }
                             c.watch.append(v)
                         },
                         write: { $0.watch }),
        choice("watch-action", "restart|reload", "what a watched change does", { $0.watchAction }, { $0.watchAction = $1 }, expected: "restart or reload"),
        ConfigurationKey("listen", .list, "ADDRESS", "a socket the supervisor holds and passes as LISTEN_FDS: tcp:HOST:PORT, tcp6:[ADDR]:PORT, udp:HOST:PORT, unix:PATH (repeatable)",
                         read: { c, v in c.listen.append(try ListenAddress(parsing: v)) },
                         write: { $0.listen.map(\.text) }),
        choice("restart-mode", "stop-first|overlap", "overlap: a restart starts the new instance and stops the old one once the new one is ready",
               { $0.restartMode }, { $0.restartMode = $1 }, expected: "stop-first or overlap"),
        interval("settle", "overlap: how long a new instance must stay up once ready before the old one is stopped", { $0.settle }, { $0.settle = $1 }),
        ConfigurationKey("busy-exit-code", .value, "N", "run only: exit with N when NAME is already running (as flock -E)",
                         read: { c, v in
                             guard let n = Int32(v), (0...255).contains(n) else { throw ConfigurationKey.bad("busy-exit-code", v, "expected an exit code from 0 to 255") }
                             c.busyExitCode = n
                         },
                         write: { ["\($0.busyExitCode)"] }),
        ConfigurationKey("nice", .value, "N", "scheduling priority (-20 to 19)", unset: "unchanged",
                         read: { c, v in
                             guard let n = Int32(v), (-20...19).contains(n) else { throw ConfigurationKey.bad("nice", v, "expected a number from -20 to 19") }
                             c.nice = n
                         },
                         write: { c in c.nice.map { ["\($0)"] } ?? [] }),
        ConfigurationKey("limit", .list, "RES=SOFT[:HARD]", "resource limit, setrlimit (repeatable; nofile, nproc, core, memlock, as, ...)",
                         read: { c, v in
                             let limit = try parseLimit(v)
                             c.limits.removeAll { $0.resource == limit.resource }
                             c.limits.append(limit)
                         },
                         write: { $0.limits.map(limitText) }),
        ConfigurationKey("chroot", .value, "DIR|none", "change root to DIR before exec (the command is looked up inside it)", unset: "none",
                         read: { c, v in
                             if v == "none" { c.rootDirectory = nil; return }
                             guard v.isAbsolutePath else { throw ConfigurationKey.bad("chroot", v, "expected an absolute path, or none") }
                             c.rootDirectory = v
                         },
                         write: { c in c.rootDirectory.map { [$0] } ?? [] }),
        ConfigurationKey("iosched", .value, "CLASS[:LEVEL]", "I/O scheduling: idle, best-effort or real-time, level 0-7", unset: "unchanged",
                         read: { c, v in c.ioScheduling = try parseIOScheduling(v) },
                         write: { c in c.ioScheduling.map { [$0.class == .idle ? "idle" : "\($0.class.rawValue):\($0.level)"] } ?? [] }),
        ConfigurationKey("cpusched", .value, "POLICY[:PRIO]", "CPU scheduling: other, batch, idle, fifo or rr (1-99)", unset: "unchanged",
                         read: { c, v in c.cpuScheduling = try parseCPUScheduling(v) },
                         write: { c in c.cpuScheduling.map { [$0.policy.isRealTime ? "\($0.policy.rawValue):\($0.priority)" : $0.policy.rawValue] } ?? [] }),
        ConfigurationKey("oom-score-adjust", .value, "N", "the OOM killer's adjustment, -1000 (never) to 1000", unset: "unchanged",
                         read: { c, v in
                             guard let n = Int32(v), (-1000...1000).contains(n) else { throw ConfigurationKey.bad("oom-score-adjust", v, "expected a number from -1000 to 1000") }
                             c.oomScoreAdjustment = n
                         },
                         write: { c in c.oomScoreAdjustment.map { ["\($0)"] } ?? [] }),
    ]

    /// "none", "syslog", "syslog:FACILITY", or a file.
    private static func parseLogTarget(_ v: String) throws -> LogTarget {
        if v == "none" { return .none }
        if v == "syslog" { return .syslog(.daemon) }
        if v.hasPrefix("syslog:") {
            let name = String(v.dropFirst(7))
            guard let facility = SyslogFacility(rawValue: name) else {
                throw ConfigurationKey.bad("log", v, "unknown facility '\(name)'; expected one of \(SyslogFacility.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return .syslog(facility)
        }
        if v.isEmpty { throw ConfigurationKey.bad("log", v, "expected a file, none or syslog") }
        return .file(v)
    }

    /// The key named `name`.
    package static func key(_ name: String) -> ConfigurationKey? {
        // Only the name of each entry is read (not the whole entry copied, its
        // closures retained and released), and only where the lengths agree:
        // every record line `config.KEY=` of every status looks a key up.
        let length = name.utf8.count
        return keys.withUnsafeBufferPointer { all in
            all.firstIndex { $0.name.utf8.count == length && $0.name == name }.map { all[$0] }
        }
    }

    /// The closest key name to `name`, for "did you mean" (edit distance at most 3).
    package static func suggestion(for name: String) -> String? {
        Suggestion.closest(to: name, among: keys.map(\.name))
    }

    /// Applies one setting: `key` is a key name, `value` its text (for flags
    /// "yes"/"no"/"true"/"false"/"1"/"0"; lists append). A value read back
    /// from a record (`recorded`) is not checked against the system again.
    package mutating func apply(_ key: String, _ value: String, recorded: Bool = false) throws {
        guard let spec = ServiceConfiguration.key(key) else {
            let hint = ServiceConfiguration.suggestion(for: key).map { " (did you mean '\($0)'?)" } ?? ""
            throw ConfigurationError(key: key, message: "unknown key '\(key)'\(hint)")
        }
        try apply(spec, value, recorded: recorded)
    }

    /// Applies one setting of a key already looked up.
    package mutating func apply(_ spec: ConfigurationKey, _ value: String, recorded: Bool = false) throws {
        try spec.read(&self, value)
        if !recorded { try spec.check?(self) }
    }

    /// Every setting that differs from the default, as (key, value) pairs that
    /// `apply` reads back; lists give one pair per element.
    package var settings: [(String, String)] {
        let defaults = ServiceConfiguration(name: name)
        var result: [(String, String)] = []
        for key in ServiceConfiguration.keys {
            let values = key.write(self)
            if values != key.write(defaults) { result += values.map { (key.name, $0) } }
        }
        return result
    }

    /// The effective value of a key, as text (for `check`).
    package func value(of key: String) -> String {
        ServiceConfiguration.key(key)?.text(of: self) ?? ""
    }

    // MARK: Kinds of keys

    private static func parseFlag(_ key: String, _ value: String) throws -> Bool {
        switch value.lowercased() {
        case "yes", "true", "1", "on", "": return true
        case "no", "false", "0", "off": return false
        default: throw ConfigurationKey.bad(key, value, "expected yes or no")
        }
    }

    // The kinds below take a getter and a setter rather than a key path:
    // key paths are built at run time on first use, closures are not.

    private static func flag(_ name: String, _ summary: String, _ get: @escaping @Sendable (ServiceConfiguration) -> Bool,
                             _ set: @escaping @Sendable (inout ServiceConfiguration, Bool) -> Void) -> ConfigurationKey {
        ConfigurationKey(name, .flag, "", summary, read: { c, v in set(&c, try parseFlag(name, v)) }, write: { [get($0) ? "yes" : "no"] })
    }

    private static func interval(_ name: String, _ summary: String, _ get: @escaping @Sendable (ServiceConfiguration) -> Interval,
                                 _ set: @escaping @Sendable (inout ServiceConfiguration, Interval) -> Void) -> ConfigurationKey {
        ConfigurationKey(name, .value, "DURATION", summary,
                         read: { c, v in
                             guard let interval = Interval(parsing: v) else { throw ConfigurationKey.bad(name, v, "expected a duration like 250ms, 10s, 5m, 1h") }
                             set(&c, interval)
                         },
                         write: { [get($0).description] })
    }

    private static func signal(_ name: String, _ summary: String, _ get: @escaping @Sendable (ServiceConfiguration) -> ProcessSignal,
                               _ set: @escaping @Sendable (inout ServiceConfiguration, ProcessSignal) -> Void) -> ConfigurationKey {
        ConfigurationKey(name, .value, "SIGNAL", summary,
                         read: { c, v in
                             guard let signal = ProcessSignal(parsing: v) else { throw ConfigurationKey.bad(name, v, "expected a signal like TERM, SIGTERM or 15") }
                             set(&c, signal)
                         },
                         write: { [get($0).name] })
    }

    private static func choice<Value: RawRepresentable<String> & SendableMetatype>(
        _ name: String, _ placeholder: String, _ summary: String, _ get: @escaping @Sendable (ServiceConfiguration) -> Value,
        _ set: @escaping @Sendable (inout ServiceConfiguration, Value) -> Void, expected: String) -> ConfigurationKey {
        ConfigurationKey(name, .value, placeholder, summary,
                         read: { c, v in
                             guard let choice = Value(rawValue: v) else { throw ConfigurationKey.bad(name, v, "expected \(expected)") }
                             set(&c, choice)
                         },
                         write: { [get($0).rawValue] })
    }

    /// Checks combinations no single key can: a command exists, and options
    /// that need the resident supervisor are not given in exec mode.
    package func validate() throws {
        if command.isEmpty { throw ConfigurationError(key: "command", message: "no command given for \(name)") }
        if !supervise {
            if !watch.isEmpty { throw ConfigurationError(key: "watch", message: "watch needs the supervisor (it cannot be used with no-supervise)") }
            if logTimestamps { throw ConfigurationError(key: "log-timestamps", message: "log-timestamps needs the supervisor (it cannot be used with no-supervise)") }
            if case .syslog = log { throw ConfigurationError(key: "log", message: "log = syslog needs the supervisor (it cannot be used with no-supervise)") }
            if watchdog != nil { throw ConfigurationError(key: "watchdog", message: "watchdog needs the supervisor (it cannot be used with no-supervise)") }
            if !listen.isEmpty {
                throw ConfigurationError(key: "listen", message: "listen needs the supervisor (it cannot be used with no-supervise: no process stays to hold the sockets between instances)")
            }
            if daemonPIDFile != nil {
                throw ConfigurationError(key: "pidfile", message: "pidfile needs the supervisor (it cannot be used with no-supervise: "
                                         + "there the command swiftd runs is the service, and a command that puts itself in the background has exited)")
            }
        }
        if daemonPIDFile != nil && !listen.isEmpty {
            throw ConfigurationError(key: "listen", message: "listen cannot be used with pidfile (LISTEN_PID names the process swiftd starts, which a daemon that forks itself leaves)")
        }
        if daemonPIDFile != nil && restartMode == .overlap {
            throw ConfigurationError(key: "restart-mode", message: "restart-mode = overlap cannot be used with pidfile (a daemon that forks itself cannot run twice beside itself)")
        }
        if daemonPIDFile != nil && ready != .exec {
            throw ConfigurationError(key: "pidfile", message: "pidfile needs ready = exec (the start is ready once FILE names the process the command left running)")
        }
        if watchdog != nil && ready != .notify { throw ConfigurationError(key: "watchdog", message: "watchdog needs ready = notify (WATCHDOG=1 comes over the notify socket)") }
        if case .descriptor(let n) = ready, !listen.isEmpty, n < 3 + Int32(listen.count) {
            throw ConfigurationError(key: "ready", message: "ready = fd:\(n) is taken by listen (sockets are descriptors 3 to \(2 + listen.count)): use fd:\(3 + listen.count) or above")
        }
        if restartMaxDelay < restartDelay { throw ConfigurationError(key: "restart-max-delay", message: "restart-max-delay (\(restartMaxDelay)) is shorter than restart-delay (\(restartDelay))") }
    }
}
