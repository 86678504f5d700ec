internal import Glibc

/// The sentences swiftd says about a service, each worded once: the start
/// command, the supervisor and the log all use these.
enum Wording {
    /// "web is waiting for a change of a watched file to start again": what a
    /// supervisor with a watch does after a failure.
    static func waitingForChange(_ name: ServiceName) -> String {
        "\(name) is waiting for a change of a watched file to start again (swiftd stop \(name) gives up)"
    }

    /// "web started (pid 123)".
    static func started(_ name: ServiceName, pid: pid_t) -> String { "\(name) started (pid \(pid))" }

    /// "web is already running (pid N)"; while the file holds no pid (a
    /// supervisor waiting to respawn, or one still starting its service) the
    /// supervisor is named instead, with what its record says it is doing.
    static func alreadyRunning(_ name: ServiceName, pid: pid_t?, supervisor: pid_t?, phase: ServiceState.Phase? = nil) -> String {
        if let pid { return "\(name) is already running (pid \(pid))" }
        let doing = phase == .backoff ? "restarting; " : phase == .starting ? "starting; " : ""
        return "\(name) is already running (\(doing)supervisor pid \(supervisor.map(String.init) ?? "unknown"))"
    }

    /// "sent HUP to web (pid 12), its reload signal": what is known, that the
    /// signal was delivered, not what the service made of it.
    static func signalSent(_ name: ServiceName, _ signal: ProcessSignal, pid: pid_t, purpose: String?) -> String {
        "sent \(signal.name) to \(name) (pid \(pid))" + (purpose.map { ", \($0)" } ?? "")
    }

    /// "web forgotten": its record and pidfile removed.
    static func forgotten(_ name: ServiceName) -> String { "\(name) forgotten" }

    /// "nothing recorded for web".
    static func nothingToForget(_ name: ServiceName) -> String { "nothing recorded for \(name)" }

    /// "web is running (pid N): stop it first".
    static func stillRunning(_ name: ServiceName, pid: pid_t?) -> String {
        "\(name) is running\(pid.map { " (pid \($0))" } ?? ""): stop it first"
    }

    /// "REASON (web not restarted: it runs on, pid N)": a restart that found
    /// the new configuration wrong before it touched the service.
    static func notRestarted(_ name: ServiceName, pid: pid_t?, reason: String) -> String {
        "\(reason) (\(name) not restarted: it runs on\(pid.map { ", pid \($0)" } ?? ""))"
    }

    /// "web is not running".
    static func notRunning(_ name: ServiceName) -> String { "\(name) is not running" }

    /// "failed to start: REASON", as the record keeps it.
    static func failedToStart(_ reason: String) -> String { "failed to start: \(reason)" }

    /// The members of a dead service's old session that nothing proves to be
    /// its own any more (`Leftovers.unproven`); nil when there are none.
    static func leftAlone(_ name: ServiceName, _ pids: [pid_t]) -> String? {
        guard !pids.isEmpty else { return nil }
        let list = pids.sorted().map { String($0) }.joined(separator: ", ")
        return "\(name): left alone: pid\(pids.count == 1 ? "" : "s") \(list), in the session its main process led: none started before that "
            + "process was last recorded running, so the session number may be another's by now; stop \(pids.count == 1 ? "it" : "them") by hand if \(name)'s"
    }

    /// "web stopped", and what was also done, when anything was.
    static func stopped(_ name: ServiceName, _ detail: String? = nil) -> String {
        "\(name) stopped" + (detail.map { " (\($0))" } ?? "")
    }

    /// "NAME failed to start: REASON" and the last lines of its log, escaped.
    static func startFailure(_ name: ServiceName, reason: String, log: String?) -> String {
        var lines: [String] = []
        if let log, let tail = try? LogReader.lastLines(log, count: 5), !tail.isEmpty {
            lines = tail.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { String(platformBytes: $0) }
        }
        return startFailure(name, reason: reason, lines: lines)
    }

    /// "NAME failed to start: REASON" and `lines`, the last of its log, escaped.
    static func startFailure(_ name: ServiceName, reason: String, lines: [String]) -> String {
        var message = "\(name) " + failedToStart(reason)
        if !lines.isEmpty { message += "\nlast lines of its log:" + lines.map { "\n  " + Escaped.line($0) }.joined() }
        return message
    }

    /// Why a start failed when its command exited 0 at once but left
    /// processes behind: it put itself in the background, and how to run
    /// it instead (`supervised`: `--pidfile` is a way; in exec mode it is not).
    static func daemonized(_ reason: String, left: Int, supervised: Bool) -> String {
        "\(reason) at once, leaving \(left) process\(left == 1 ? "" : "es") behind: it put itself in the background; "
            + "run it with its option to stay in the foreground, or "
            + (supervised ? "give --pidfile FILE, the file it writes its pid to" : "supervised (without --no-supervise) with --pidfile FILE, the file it writes its pid to")
            + "; what it left was stopped"
    }

    /// "FILE names pid N, which is not a process of NAME (refused)": a
    /// pidfile, written by the service, naming a process swiftd never signals.
    static func namesAnotherProcess(_ path: String, pid: pid_t, of name: ServiceName) -> String {
        "\(path) names pid \(pid), which is not a process of \(name) (refused)"
    }

    /// What is wrong with a forking daemon's pidfile (`--pidfile`): "FILE: REASON".
    static func daemonPIDFileProblem(_ path: String, _ reason: String) -> String { "\(path): \(reason)" }

    /// A forking daemon's command exited 0 but nothing of it runs.
    static func daemonLeftNothing(_ problem: String) -> String {
        "its command exited with status 0 and left no process running (\(problem))"
    }

    /// A forking daemon's pidfile did not name one of its processes in time.
    static func daemonPIDFileLate(_ problem: String, within: Interval) -> String {
        "its pidfile named none of its processes within \(within) (\(problem))"
    }

    /// A forking daemon's command that never exited.
    static func daemonStayedInForeground(pid: pid_t, within: Interval) -> String {
        "its command (pid \(pid)) did not put itself in the background within \(within) "
            + "(with --pidfile, the command must exit 0 and leave its pid in FILE)"
    }
}
