package import Glibc

/// What is true of a service right now: read from its pidfile's lock (the
/// truth about liveness) and its state file (the details).
package struct ServiceStatus: Sendable {
    package enum State: String, Sendable {
        case running, starting, restarting, stopping, stopped, exited, dead, failed, unknown
        /// It failed; its supervisor waits for a change of a watched file to start it again.
        case waiting
        case notRunning = "not running"
    }

    package var name: ServiceName
    package var state: State
    /// The service's pid (from the locked pidfile).
    package var pid: pid_t?
    /// The supervisor's pid: the lock holder in supervised mode.
    package var supervisorPID: pid_t?
    package var mode: ServiceState.Mode?
    package var uptime: Interval?
    package var restarts = 0
    package var lastExit: ExitStatus?
    package var statusText: String?
    /// Why it is dead, failed or unknown.
    package var detail: String?
    /// The recorded state, when readable. Kept in a box (the snapshot's own):
    /// a status is copied whole wherever it is read out of an array or passed
    /// on, and a state has dozens of fields to retain and release for each copy.
    package var recorded: ServiceState? {
        get { recordedBox?.state }
        set { recordedBox = newValue.map(ServiceState.Box.init) }
    }
    private var recordedBox: ServiceState.Box?

    /// While a restart in place overlaps, the other instance: the new one
    /// starting, else the old one stopping. (Read through the box: `recorded`
    /// hands out a copy of the whole state.)
    package var otherInstancePID: pid_t? { recordedBox?.state.newPID ?? recordedBox?.state.oldPID }

    /// The command it was recorded with, for `list`.
    package var recordedCommand: [String]? { recordedBox?.state.configuration.argv }


    package init(name: ServiceName, state: State) {
        self.name = name
        self.state = state
    }

    /// Probes `name` in `paths`: the pidfile's lock and the state file (see
    /// `ServiceSnapshot`). A service whose lock cannot speak (its pidfile was
    /// removed; in exec mode, it closed the lock's descriptor) is running
    /// while the exact process its record names lives.
    package static func probe(_ name: ServiceName, paths: ServicePaths) -> ServiceStatus {
        probe(name, paths: paths, again: true)
    }

    private static func probe(_ name: ServiceName, paths: ServicePaths, again: Bool) -> ServiceStatus {
        var status = ServiceStatus(name: name, state: .notRunning)
        let snapshot: ServiceSnapshot
        do {
            snapshot = try ServiceSnapshot.read(name, paths: paths)
        } catch {
            status.state = .unknown
            status.detail = "\(error)"
            return status
        }
        if let record = snapshot.record {
            // The snapshot's box itself, its fields read through it: no copy of the record.
            status.recordedBox = record
            status.mode = record.state.mode
            status.restarts = record.state.restarts
            status.lastExit = record.state.lastExit
            status.statusText = record.state.statusText
        }
        switch snapshot.lock {
        case .held(let pid):
            // Its main process gone and the lock with it: look again.
            guard status.describeHeld(snapshot, pid: pid, paths: paths, mayLookAgain: again) else { return probe(name, paths: paths, again: false) }
        case .untrusted(let holder):
            status.state = .dead
            status.detail = "its pidfile is locked by \(holder.map { "pid \($0)" } ?? "a process") that is not its own, through a mode others can open"
        case .free, .absent:
            status.describeUnlocked(snapshot)
        }
        return status
    }

    /// A locked pidfile. False when, in exec mode, its main process is gone
    /// and the lock went with it meanwhile: the caller looks again (once).
    private mutating func describeHeld(_ snapshot: ServiceSnapshot, pid: pid_t?, paths: ServicePaths, mayLookAgain: Bool) -> Bool {
        let record = snapshot.record
        let exec = snapshot.isExecMode
        mode = exec ? .exec : .supervised
        // The supervisor is who the record says; only without a record is
        // the (slower) kernel lock table asked.
        supervisorPID = exec ? nil : record.map { $0.state.supervisorPID } ?? PIDFile.lockHolder(at: paths.pidFile(name))
        self.pid = pid
        let phase = record?.state.phase
        guard let pid else {
            // The record, read after the lock, says the service ended: its
            // supervisor is on its way out (it records the end, then lets go
            // of the lock), unless a new one took the lock before its first
            // record (another holder). The lock table says which, or that
            // the lock is gone by now; the record is the truth either way.
            if let record, !record.state.isActive {
                let holder = PIDFile.lockHolder(at: paths.pidFile(name))
                if holder == nil || holder == record.state.supervisorPID {
                    describeUnlocked(snapshot)
                    return true
                }
            }
            state = phase == .backoff ? .restarting : phase == .stopping ? .stopping : phase == .waiting ? .waiting : .starting
            if state == .waiting { detail = record?.state.failure }
            return true
        }
        state = phase == .starting ? .starting : phase == .stopping ? .stopping : .running
        if exec, let main = record?.state.main, main.pid == pid, (try? main.isAlive()) == false {
            if mayLookAgain && !snapshot.stillHeldAsSeen() { return false }
            // Still locked: what holds the lock is what it left.
            self.pid = nil
            detail = "its main process \(pid) exited; processes it left hold its lock (it put itself in the background?)"
        } else if let record, record.state.pid == pid, let since = record.state.serviceSince {
            uptime = ServiceStatus.uptime(since: since)
        }
        return true
    }

    /// No lock: the record says the rest, and whether the exact process it
    /// names still runs although its lock says nothing.
    private mutating func describeUnlocked(_ snapshot: ServiceSnapshot) {
        if let recordError = snapshot.recordError {
            state = .unknown
            detail = recordError.message
        } else if let record = snapshot.record, let live = (try? record.state.liveInstance()) ?? nil {
            state = record.state.phase == .backoff ? .restarting : record.state.phase == .waiting ? .waiting : .running
            pid = live.pid
            supervisorPID = live.supervisor
            if let since = record.state.serviceSince, live.pid != nil { uptime = ServiceStatus.uptime(since: since) }
            detail = record.state.mode == .exec && snapshot.lock != .absent ? "it closed its lock's descriptor" : "its pidfile was removed"
        } else if case .free(let stale?) = snapshot.lock {
            // A pid nobody holds the lock for: what a dead instance left. (An
            // empty file is one a holder is removing as it lets go, or one a
            // supervisor killed between two runs left: the record tells.)
            state = .dead
            pid = stale
            detail = "pidfile left, pid \(stale)"
        } else if let record = snapshot.record {
            switch record.state.phase {
            case .failed:
                state = .failed
                detail = record.state.failure
            case .exited: state = .exited
            case .stopped: state = .stopped
            case .starting, .running, .backoff, .stopping, .waiting:
                state = .dead
                detail = "its \(record.state.mode == .supervised ? "supervisor" : "process") is gone"
            }
        }
    }

    private static func uptime(since: Double) -> Interval {
        Interval(nanoseconds: Int64(max(0, WallClock.seconds() - since) * 1e9))
    }

    /// The LSB status exit code: 0 running, 1 dead or failed, 3 not running, 4 unknown.
    package var exitCode: Int32 {
        switch state {
        case .running, .starting, .stopping: return ExitCode.success
        case .dead, .failed, .waiting: return ExitCode.failure
        case .exited: return (lastExit?.isSuccess ?? true) ? ExitCode.notRunning : ExitCode.failure
        case .restarting, .stopped, .notRunning: return ExitCode.notRunning
        case .unknown: return ExitCode.unknown
        }
    }

    /// True while a process of the service exists (running, starting, stopping).
    package var isRunning: Bool { exitCode == ExitCode.success }

    /// One line for people: "web: running (pid 1235), up 3m12s, 0 restarts".
    package var line: String {
        // Built as bytes, with room for the usual line at once: a String
        // append costs about 340 instructions, and an interpolation builds a
        // String of its own.
        var out: [UInt8] = []
        out.reserveCapacity(96)
        func put(_ text: String) { out.append(contentsOf: text.utf8) }
        func putRestarts() {
            put(", ")
            put(String(restarts))
            put(restarts == 1 ? " restart" : " restarts")
        }
        put(name.rawValue)
        put(": ")
        switch state {
        case .running, .starting, .stopping:
            put(state.rawValue)
            put(" (pid ")
            put(pid.map(String.init) ?? "?")
            put(")")
            if let uptime {
                put(", up ")
                put(uptime.approximate)
            }
            putRestarts()
            if let detail {
                put("; ")
                put(detail)
            }
            // While a restart in place overlaps, the other instance; and why the last one failed.
            if let pid = recordedBox?.state.newPID { put("; new instance (pid \(pid)) starting") }
            if let pid = recordedBox?.state.oldPID { put("; instance (pid \(pid)) stopping") }
            if let failure = recordedBox?.state.restartFailure { put("; last restart failed: \(failure)") }
        case .restarting:
            put("restarting")
            if let lastExit { put(" (last \(lastExit))") }
            putRestarts()
        case .exited:
            put(lastExit.map { "\($0)" } ?? "exited")
        case .failed:
            put(detail ?? "failed")
        case .waiting:
            put("waiting for a change of a watched file")
            if let supervisorPID { put(" (supervisor pid \(supervisorPID))") }
            putRestarts()
            if let detail { put("; \(detail)") }
        case .dead, .unknown:
            put(state.rawValue + (detail.map { " (\($0))" } ?? ""))
        case .stopped, .notRunning:
            put(state.rawValue)
        }
        if let statusText, !statusText.isEmpty { put(": \"\(statusText)\"") }
        return Escaped.line(String(decoding: out, as: UTF8.self))
    }

    private static func json(pid: pid_t?) -> JSON { pid.map { JSON.int(Int64($0)) } ?? JSON.null }
    private static func json(text: String?) -> JSON { text.map { JSON.string($0) } ?? JSON.null }

    /// The JSON object `status --json` prints.
    package var json: JSON {
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
            ("dropped_log_lines", .int(Int64(recordedBox?.state.droppedLines ?? 0))),
            ("detail", detail.map { .string($0) } ?? .null),
            ("command", recordedCommand.map { .array($0.map { .string($0) }) } ?? .null),
            ("new_pid", Self.json(pid: recordedBox?.state.newPID)),
            ("old_pid", Self.json(pid: recordedBox?.state.oldPID)),
            ("restart_failure", Self.json(text: recordedBox?.state.restartFailure)),
            ("exit_code", .int(Int64(exitCode))),
        ])
    }
}
