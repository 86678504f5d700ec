/// What is true of a service right now: read from its pidfile's lock (the
/// truth about liveness) and its state file (the details).
public struct ServiceStatus: Sendable {
    public enum State: String, Sendable {
        case running, starting, restarting, stopping, stopped, exited, dead, failed, unknown
        case notRunning = "not running"
    }

    public var name: ServiceName
    public var state: State
    /// The service's pid (from the locked pidfile).
    public var pid: pid_t?
    /// The supervisor's pid: the lock holder in supervised mode.
    public var supervisorPID: pid_t?
    public var mode: ServiceState.Mode?
    public var uptime: Interval?
    public var restarts = 0
    public var lastExit: ExitStatus?
    public var statusText: String?
    /// Why it is dead, failed or unknown.
    public var detail: String?
    /// The recorded state, when readable.
    public var recorded: ServiceState?

    public init(name: ServiceName, state: State) {
        self.name = name
        self.state = state
    }

    /// Probes `name` in `paths`: the pidfile's lock, then the state file.
    public static func probe(_ name: ServiceName, paths: ServicePaths) -> ServiceStatus {
        var status = ServiceStatus(name: name, state: .notRunning)
        var recorded: ServiceState?
        var stateError: String?
        do {
            recorded = try ServiceState.read(paths.stateFile(name), name: name)
        } catch {
            stateError = "\(error)"
        }
        status.recorded = recorded
        if let recorded {
            status.mode = recorded.mode
            status.restarts = recorded.restarts
            status.lastExit = recorded.lastExit
            status.statusText = recorded.statusText
        }
        switch PIDFile.status(at: paths.pidFile(name)) {
        case .running(let pid, _):
            // The supervisor is who the record says; only without a record is
            // the (slower) kernel lock table asked.
            let holder = recorded.map { $0.mode == .exec ? pid : $0.supervisorPID } ?? PIDFile.lockHolder(at: paths.pidFile(name))
            let mode = recorded?.mode ?? (pid != nil && pid == holder ? .exec : .supervised)
            status.mode = mode
            status.pid = pid
            status.supervisorPID = mode == .supervised ? holder : nil
            let phase = recorded?.phase
            if pid != nil {
                status.state = phase == .starting ? .starting : phase == .stopping ? .stopping : .running
                if let recorded, recorded.pid == pid, let since = recorded.serviceSince {
                    let elapsed = WallClock.seconds() - since
                    status.uptime = Interval(nanoseconds: Int64(max(0, elapsed) * 1e9))
                }
            } else {
                status.state = phase == .backoff ? .restarting : phase == .stopping ? .stopping : .starting
            }
        case .stale(let pid):
            status.state = .dead
            status.pid = pid
            status.detail = "pidfile left" + (pid.map { ", pid \($0)" } ?? "")
        case .unreadable(let reason):
            status.state = .unknown
            status.detail = reason
        case .absent:
            if let stateError {
                status.state = .unknown
                status.detail = stateError
            } else if let recorded {
                switch recorded.phase {
                case .failed:
                    status.state = .failed
                    status.detail = recorded.failure
                case .exited: status.state = .exited
                case .stopped: status.state = .stopped
                case .starting, .running, .backoff, .stopping:
                    status.state = .dead
                    status.detail = "its \(recorded.mode == .supervised ? "supervisor" : "process") is gone"
                }
            }
        }
        return status
    }

    /// The LSB status exit code: 0 running, 1 dead or failed, 3 not running, 4 unknown.
    public var exitCode: Int32 {
        switch state {
        case .running, .starting, .stopping: return ExitCode.success
        case .dead, .failed: return ExitCode.failure
        case .exited: return (lastExit?.isSuccess ?? true) ? ExitCode.notRunning : ExitCode.failure
        case .restarting, .stopped, .notRunning: return ExitCode.notRunning
        case .unknown: return ExitCode.unknown
        }
    }

    /// True while a process of the service exists (running, starting, stopping).
    public var isRunning: Bool { exitCode == ExitCode.success }

    /// One line for people: "web: running (pid 1235), up 3m12s, 0 restarts".
    public var line: String {
        var text = "\(name): "
        switch state {
        case .running, .starting, .stopping:
            text += state.rawValue + " (pid \(pid.map(String.init) ?? "?"))"
            if let uptime { text += ", up \(uptime.approximate)" }
            text += ", \(restarts) restart\(restarts == 1 ? "" : "s")"
        case .restarting:
            text += "restarting"
            if let lastExit { text += " (last \(lastExit))" }
            text += ", \(restarts) restart\(restarts == 1 ? "" : "s")"
        case .exited:
            text += lastExit.map { "\($0)" } ?? "exited"
        case .failed:
            text += detail ?? "failed"
        case .dead, .unknown:
            text += state.rawValue + (detail.map { " (\($0))" } ?? "")
        case .stopped, .notRunning:
            text += state.rawValue
        }
        if let statusText, !statusText.isEmpty { text += ": \"\(statusText)\"" }
        return text
    }

    /// The JSON object `status --json` prints.
    public var json: JSON {
        var lastExitJSON = JSON.null
        switch lastExit {
        case .exited(let code)?: lastExitJSON = .object([("code", .int(Int64(code)))])
        case .signaled(let signal, let core)?: lastExitJSON = .object([("signal", .string(signal.name)), ("core_dumped", .bool(core))])
        case nil: break
        }
        return .object([
            ("name", .string(name.rawValue)),
            ("state", .string(state.rawValue)),
            ("pid", pid.map { .int(Int64($0)) } ?? .null),
            ("supervisor_pid", supervisorPID.map { .int(Int64($0)) } ?? .null),
            ("mode", mode.map { .string($0.rawValue) } ?? .null),
            ("uptime_seconds", uptime.map { .double($0.seconds) } ?? .null),
            ("restarts", .int(Int64(restarts))),
            ("last_exit", lastExitJSON),
            ("status_text", statusText.map { .string($0) } ?? .null),
            ("dropped_log_lines", .int(Int64(recorded?.droppedLines ?? 0))),
            ("detail", detail.map { .string($0) } ?? .null),
            ("command", recorded.map { .array($0.configuration.argv.map { .string($0) }) } ?? .null),
            ("exit_code", .int(Int64(exitCode))),
        ])
    }
}
