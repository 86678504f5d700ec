package import Glibc

/// `NAME.state`: what `status`, `list` and `restart` need to know about a
/// service beyond its pidfile. Written atomically (temporary file, rename) by
/// whoever holds the pidfile's lock; never trusted for liveness.
package struct ServiceState: Hashable, Sendable {
    /// How the service runs.
    package enum Mode: String, Hashable, Sendable {
        /// Under a resident swiftd supervisor (the default).
        case supervised
        /// Exec mode: the service holds its own lock.
        case exec
    }

    /// Where the service is in its life, as its supervisor last wrote it.
    /// `waiting`: it failed (its start, the start limit, a restart) and its
    /// supervisor waits for a change of a watched file to start it again.
    package enum Phase: String, Hashable, Sendable {
        case starting, running, backoff, stopping, stopped, exited, failed, waiting
    }

    package var name: ServiceName
    package var mode: Mode = .supervised
    package var phase: Phase = .starting
    /// The supervisor's pid (supervised mode).
    package var supervisorPID: pid_t?
    /// The supervisor's start time (`/proc/PID/stat` field 22).
    package var supervisorStartTime: UInt64?
    /// The service's pid, as last started.
    package var pid: pid_t?
    /// The service's start time in clock ticks since boot (`/proc/PID/stat`
    /// field 22): with the pid, it names the process for ever.
    package var pidStartTime: UInt64?
    /// When this record was written with the service's pid still taken by it
    /// (alive, or exited and not yet reaped), in the ticks of `pidStartTime`
    /// (`ProcessTable.ticksSinceBoot`). A process of its session that started
    /// no later is proof that the session is still the one it made, not a new
    /// one under the same number (see `Leftovers`).
    package var mainSeen: UInt64?
    /// Wall-clock seconds when the service was last started.
    package var serviceSince: Double?
    /// How many times the supervisor respawned the service.
    package var restarts = 0
    /// How the service last ended.
    package var lastExit: ExitStatus?
    /// The last STATUS= text the service sent.
    package var statusText: String?
    /// Why the service is not running, when it failed ("failed: 5 starts in 60s, last exit status 1").
    package var failure: String?
    /// Log lines dropped because the log could not be written.
    package var droppedLines = 0
    /// How many times the supervisor reopened its log when asked (`swiftd reopen` waits for this to grow).
    package var logReopens = 0
    /// Restarts in place (`listen`, `restart-mode = overlap`): how many the
    /// supervisor began and ended (`restart` waits for the one it asked
    /// for), and why the last one failed (nil: it did not).
    package var restartsBegun = 0
    package var restartsEnded = 0
    package var restartFailure: String?
    /// While a restart overlaps: the new instance, not yet ready, and the
    /// old one, being stopped.
    package var newPID: pid_t?
    package var oldPID: pid_t?
    /// How the service was started.
    package var configuration: ServiceConfiguration

    package init(configuration: ServiceConfiguration) {
        self.name = configuration.name
        self.configuration = configuration
    }

    /// A record read once and passed around (a command's snapshot, then the
    /// status made of it): copying one copies a reference, not the dozens
    /// of fields a record has to retain and release, and reading a field
    /// through it copies that field only.
    package final class Box: Sendable {
        package let state: ServiceState
        init(_ state: ServiceState) { self.state = state }
    }

    /// Reads the state file of `name` at `path`; nil when there is none.
    /// - Throws: the `SystemError` of a file that cannot be read (another
    ///   user's: `EACCES`), or an `InvalidFile` naming the file and what is
    ///   wrong with it (another user's, writable by others, garbage).
    package static func read(_ path: String, name: ServiceName) throws -> ServiceState? {
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.read(path, limit: (1 << 20) + 1, trusted: .state)
        } catch let error as SystemError where error.errno == .noSuchFile {
            return nil
        }
        if bytes.count > 1 << 20 { throw InvalidFile(.state, path, .malformed, message: "\(path): longer than 1 MiB (not a state file)") }
        do {
            return try decode(bytes, name: name)
        } catch let error as ConfigurationError {
            throw InvalidFile(.state, path, .malformed, message: "\(path): \(error.message)")
        }
    }

    /// Writes the state atomically to `path`, readable by its owner only:
    /// it holds the command line and the environment settings.
    /// The run dir is checked again at every write, as at the start
    /// (`Directory.openTrusted`), and the file written through its
    /// descriptor: a run dir renamed away and replaced by another user's
    /// directory, or a symlink, after the start gets nothing.
    package func write(_ path: String) throws {
        let directory = try Directory.openTrusted(Path.directory(of: path), what: "run dir")
        defer { directory.close() }
        try FileSystem.writeAtomically(Path.fileName(of: path), in: directory, encoded(), mode: 0o600)
    }

    /// The supervisor as recorded (supervised mode), when its start time is known.
    var supervisor: RecordedProcess? {
        guard let supervisorPID, let supervisorStartTime else { return nil }
        return RecordedProcess(pid: supervisorPID, startTime: supervisorStartTime)
    }

    /// The service's main process as recorded, when its start time is known.
    var main: RecordedProcess? {
        guard let pid, let pidStartTime else { return nil }
        return RecordedProcess(pid: pid, startTime: pidStartTime)
    }

    /// The record says a process of the service should exist (at least its supervisor).
    var isActive: Bool { [.starting, .running, .backoff, .stopping, .waiting].contains(phase) }

    /// The pid (and supervisor) of the instance this record names, when it
    /// still lives although its lock may say nothing: a supervisor whose
    /// pidfile was removed, an exec-mode service that closed its lock's
    /// descriptor. The pid is nil while a supervisor waits to respawn.
    func liveInstance() throws -> (pid: pid_t?, supervisor: pid_t?)? {
        guard isActive else { return nil }
        if mode == .exec {
            return try main?.isAlive() == true ? (pid, nil) : nil
        }
        guard let supervisor, try supervisor.isAlive() else { return nil }
        return (try main?.isAlive() == true ? pid : nil, supervisor.pid)
    }

    /// The file's text: "key=value" lines, values escaped (\\, \n, \r,
    /// \xNN): valid UTF-8 whatever the values hold.
    package func encoded() -> [UInt8] {
        var lines: [(String, String)] = [("version", "1"), ("name", name.rawValue), ("mode", mode.rawValue), ("phase", phase.rawValue)]
        if let supervisorPID { lines.append(("supervisor", "\(supervisorPID)")) }
        if let supervisorStartTime { lines.append(("supervisor-start-time", "\(supervisorStartTime)")) }
        if let pid { lines.append(("pid", "\(pid)")) }
        if let pidStartTime { lines.append(("pid-start-time", "\(pidStartTime)")) }
        if let mainSeen { lines.append(("main-seen", "\(mainSeen)")) }
        if let serviceSince { lines.append(("since", formatSeconds(serviceSince))) }
        lines.append(("restarts", "\(restarts)"))
        if let lastExit { lines.append(("last-exit", lastExit.record)) }
        if let statusText { lines.append(("status-text", statusText)) }
        if let failure { lines.append(("failure", failure)) }
        if droppedLines > 0 { lines.append(("dropped-lines", "\(droppedLines)")) }
        if logReopens > 0 { lines.append(("log-reopens", "\(logReopens)")) }
        if restartsBegun > 0 { lines.append(("restarts-begun", "\(restartsBegun)")); lines.append(("restarts-ended", "\(restartsEnded)")) }
        if let restartFailure { lines.append(("restart-failure", restartFailure)) }
        if let newPID { lines.append(("new-pid", "\(newPID)")) }
        if let oldPID { lines.append(("old-pid", "\(oldPID)")) }
        lines.append(("source", configuration.source.description))
        for arg in configuration.argvForRecord { lines.append(("argv", arg)) }
        for (key, value) in configuration.settings where key != "command" { lines.append(("config.\(key)", value)) }
        for option in configuration.commandLineOptions { lines.append(("option", option)) }
        var text = ""
        for (key, value) in lines { text += key + "=" + escape(value) + "\n" }
        return Array(text.utf8)
    }

    /// By scalar, like `decode`: "\r\n" is one Character but two scalars to
    /// escape. Every control character is escaped (`\n`, `\r`, `\xNN`), so
    /// that whatever a service sends (a STATUS= text with a NUL) reads back,
    /// and so is every byte that is not UTF-8 (an argument, a path, an
    /// environment value: `String(platformBytes:)`), so that the file stays
    /// text and a command gets its bytes back exactly. (A reader older than
    /// that takes `\xe9` for U+00E9.)
    private func escape(_ value: String) -> String {
        var out = String.UnicodeScalarView()
        for c in value.unicodeScalars {
            switch c {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            default:
                if let byte = String.standInByte(c) ?? (c.value < 0x20 || c.value == 0x7f ? UInt8(c.value) : nil) {
                    let hex = String(byte, radix: 16)
                    out.append(contentsOf: ("\\x" + (hex.count < 2 ? "0" : "") + hex).unicodeScalars)
                } else {
                    out.append(c)
                }
            }
        }
        return String(out)
    }
}

/// Seconds with millisecond precision, without Foundation's formatting.
func formatSeconds(_ value: Double) -> String {
    // Whole milliseconds must fit Int64 (a state file can say "since=1e300"),
    // and the digits below assume no sign: Swift's own form, which Double()
    // reads back, for anything else.
    guard value >= 0, value < 9e15 else { return "\(value)" }
    let millis = Int64((value * 1000).rounded())
    let fraction = millis % 1000
    let text = String(fraction)
    return "\(millis / 1000)." + String(repeating: "0", count: 3 - text.count) + text
}

extension String {
    /// Decodes UTF-8, failing on invalid sequences.
    init?(validatingUTF8CString bytes: [UInt8]) {
        // The standard library's validation, at once: not one scalar at a time.
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        self = text
    }
}

extension ServiceConfiguration {
    /// The command exactly as given (shell mode: the line), one entry per word.
    var argvForRecord: [String] {
        shell ? [shellCommand] : command
    }

    /// Restores the command recorded by `argvForRecord`.
    mutating func restoreArgv(_ argv: [String]) {
        guard !argv.isEmpty else { return }
        if shell && argv.count == 1 {
            try? setCommandLine(argv[0])
            if command.isEmpty { command = argv }
        } else {
            command = argv
        }
    }
}
