/// The resident swiftd: holds the service's pidfile lock, runs the command in
/// its own session, relays its output into the log, respawns it by policy,
/// waits for its readiness, and stops it (stop signal to every process of it,
/// SIGKILL after the timeout) on SIGTERM. A child subreaper: grandchildren
/// that left the service's process group are still its to reap and to stop.
///
/// Its loop sleeps in `poll` with no timeout unless something is due: a quiet
/// service costs no wake-ups.
public final class Supervisor {
    /// Where the supervisor runs.
    public enum Role {
        /// Detached (`swiftd start`): reports the start through the daemon's channel.
        case background(Daemon)
        /// In the foreground (`swiftd run`): output to its own streams, exit with the service's status.
        case foreground
    }

    /// What follows once every process of the service is gone.
    enum After: Equatable {
        /// The supervisor ends, recording this phase.
        case exit(ServiceState.Phase)
        /// The service is started again after this many nanoseconds.
        case respawn(delay: Int64)
    }

    enum Phase: Equatable {
        /// The first start: waiting for min-uptime (`windowEnd`) or readiness (`timeout`).
        case starting(windowEnd: Int64?, timeout: Int64?)
        case running
        /// Waiting to respawn.
        case backoff(until: Int64)
        /// Stopping every process; SIGKILL at `killAt` (nil once sent).
        case stopping(killAt: Int64?, after: After)
    }

    let configuration: ServiceConfiguration
    let paths: ServicePaths
    let pidFile: PIDFile
    let foreground: Bool
    let selfPID = getpid()
    private var reporter: Daemon?
    private var state: ServiceState
    private let log: ServiceLog
    private let signals: SignalWatcher
    private var relay: (read: FileDescriptor, write: FileDescriptor)?
    private let directOutput: LaunchConfiguration.Stream
    private let directError: LaunchConfiguration.Stream
    private var notify: NotifyListener?
    private var readyPipe: FileDescriptor?
    private var main: ProcessHandle?
    private var mainStart: Int64 = 0
    private var mainPIDOverride: pid_t?
    private var phase: Phase = .starting(windowEnd: nil, timeout: nil)
    private var schedule: RestartSchedule
    private var signalled: Set<pid_t> = []
    private var stopSignal: Signal
    private var stopTimeout: Interval
    private var lastStatus: ExitStatus?
    private var failureCode: Int32 = ExitCode.failure
    private let credentials: Credentials?
    private let upstreamNotify: Bool
    private var partialLineDeadline: Int64?
    private var watcher: FileWatcher?
    private var pidWatch: PIDFileWatch?
    /// A STATUS= text not yet saved: saved at most every `statusSaveInterval`,
    /// however often the service sends one.
    private var statusSaveDue: Int64?
    static let statusSaveInterval: Int64 = 100_000_000
    /// Datagrams read from the notify socket per turn of the loop: a flood
    /// never keeps the loop from signals.
    static let notificationsPerTurn = 64
    /// When resident pages were last given back (see `ResidentMemory`), and
    /// whether anything ran since.
    private var lastTrim: Int64 = 0
    private var trimWanted = true
    /// The mappings to release, found once (they do not change while the
    /// supervisor runs: the same binary, the same libraries).
    private var releasable: [UInt]?

    /// Prepares a supervisor for `configuration` holding `pidFile` (locked,
    /// empty). Opens the log, the signal descriptor and the notify socket;
    /// a failure here is reported before anything is started.
    public init(configuration: ServiceConfiguration, paths: ServicePaths, pidFile: PIDFile, role: Role) throws {
        self.configuration = configuration
        self.paths = paths
        self.pidFile = pidFile
        switch role {
        case .background(let daemon):
            reporter = daemon
            foreground = false
        case .foreground:
            reporter = nil
            foreground = true
        }
        stopSignal = configuration.stopSignal
        stopTimeout = configuration.stopTimeout
        schedule = RestartSchedule(configuration)
        credentials = try configuration.credentials()
        state = ServiceState(configuration: configuration)
        state.mode = .supervised
        state.supervisorPID = selfPID
        state.supervisorStartTime = ProcessTable.stat(of: selfPID)?.startTime
        upstreamNotify = foreground && Environment.value("NOTIFY_SOCKET") != nil

        _ = dz_signal_ignore(SIGPIPE)
        _ = dz_set_child_subreaper()
        signals = try SignalWatcher([.child, .terminate, .interrupt, .hangup, .quit, .user1, .user2])

        // Where the service's output goes, and whether it passes through us.
        var target: ServiceLog.Target
        switch configuration.log {
        case .none:
            target = .discard
        case .file(let path):
            target = .file(Path.absolute(path))
        case .automatic:
            target = foreground ? .descriptor(.standardOutput) : .file(paths.defaultLogFile(configuration.name))
        }
        if foreground, case .descriptor = target, !configuration.logTimestamps {
            // swiftd run without a log: the service writes to our own stdout and stderr directly.
            directOutput = .inherit
            directError = .inherit
            target = .discard
            log = try ServiceLog(target: .descriptor(.standardError), maxSize: ByteSize(bytes: 0), keep: 0, timestamps: false)
        } else if case .discard = target {
            directOutput = .null
            directError = .null
            log = try ServiceLog(target: .discard, maxSize: configuration.logMaxSize, keep: 0, timestamps: false)
        } else {
            do {
                log = try ServiceLog(target: target, maxSize: configuration.logMaxSize, keep: configuration.logKeep,
                                     timestamps: configuration.logTimestamps)
            } catch let error as SystemError {
                throw ServiceError("log \(error.path ?? ""): \(error.errno)", code: ExitCode.forStart(error.errno))
            }
            let pipe = try FileDescriptor.pipe()
            try pipe.read.setNonBlocking(true)
            _ = dz_set_pipe_size(pipe.write.rawValue, 1 << 20)
            relay = pipe
            directOutput = .descriptor(pipe.write)
            directError = .descriptor(pipe.write)
        }
        if configuration.ready == .notify {
            notify = try NotifyListener(name: configuration.name)
        }
        if !configuration.watch.isEmpty {
            // Its own writes are never a change: the log (and its rotations), the run files.
            let own = [configuration.logFile(in: paths), paths.pidFile(configuration.name), paths.stateFile(configuration.name),
                       Path.join(paths.runDirectory, ".\(configuration.name).pid"), Path.join(paths.runDirectory, ".\(configuration.name).state")]
            watcher = try FileWatcher(paths: configuration.watch, ignoring: own.compactMap { $0 })
        }
        pidWatch = try? PIDFileWatch(pidFile)
    }

    // MARK: Running

    /// Starts the service and supervises it until it is stopped for good;
    /// then releases the pidfile and exits the process.
    public func run() -> Never {
        state.phase = .starting
        do {
            try state.write(paths.stateFile(configuration.name))
        } catch {
            // Without its record the service could not be stopped or
            // reported on: the start fails before anything runs.
            let reason = "cannot write its state: \(error)"
            reporter?.fail(Wording.startFailure(configuration.name, reason: reason, lines: []), exitCode: ExitCode.failure)
            reporter = nil
            pidFile.release()
            exit(1)
        }
        CrashPoint.reach("before-spawn")
        spawn(initial: true)
        loop()
    }

    private func loop() -> Never {
        while true {
            var fds = [pollfd(fd: signals.descriptor.rawValue, events: Int16(POLLIN), revents: 0)]
            // Output that waits for room is written first; the relay is not
            // read meanwhile (the service then waits on its own pipe).
            let blockedIndex = log.blockedOn.map { d -> Int in fds.append(pollfd(fd: d.rawValue, events: Int16(POLLOUT), revents: 0)); return fds.count - 1 }
            let relayIndex = blockedIndex != nil ? nil : relay.map { r -> Int in fds.append(pollfd(fd: r.read.rawValue, events: Int16(POLLIN), revents: 0)); return fds.count - 1 }
            let pidWatchIndex = pidWatch.map { w -> Int in fds.append(pollfd(fd: w.descriptor.rawValue, events: Int16(POLLIN), revents: 0)); return fds.count - 1 }
            let notifyIndex = notify.map { n -> Int in fds.append(pollfd(fd: n.descriptor.rawValue, events: Int16(POLLIN), revents: 0)); return fds.count - 1 }
            let readyIndex = readyPipe.map { r -> Int in fds.append(pollfd(fd: r.rawValue, events: Int16(POLLIN), revents: 0)); return fds.count - 1 }
            let watchIndex = watcher.map { w -> Int in fds.append(pollfd(fd: w.descriptor.rawValue, events: Int16(POLLIN), revents: 0)); return fds.count - 1 }
            var timeout = nextDeadline().map { Monotonic.millisecondsUntil($0) } ?? -1
            var r: Int32
            if timeout < 0 && phase == .running && trimWanted {
                // About to sleep with nothing due: a quiet service. Give back
                // the pages startup or the last burst touched, at most every
                // 10 s (waking once at the 10 s mark when the last was sooner).
                let now = Monotonic.now()
                if now - lastTrim >= 10_000_000_000 {
                    lastTrim = now
                    trimWanted = false
                    if releasable == nil { releasable = ResidentMemory.releasableRanges() }
                    r = ResidentMemory.releaseAndPoll(releasable ?? [], &fds, timeout: -1)
                } else {
                    timeout = Monotonic.millisecondsUntil(lastTrim + 10_000_000_000)
                    r = poll(&fds, nfds_t(fds.count), timeout)
                }
            } else {
                r = poll(&fds, nfds_t(fds.count), timeout)
                // An event or a deadline: something ran.
                if timeout >= 0 { trimWanted = true }
            }
            if r != 0 { trimWanted = true }
            if r < 0 && errno != EINTR { Monotonic.sleep(nanoseconds: 10_000_000) }
            if r > 0 {
                // Output first: a failure report then includes the last lines.
                if let i = blockedIndex, fds[i].revents != 0 { log.flushBacklog() }
                if let i = relayIndex, fds[i].revents != 0 { relayOutput() }
                if let i = pidWatchIndex, fds[i].revents != 0, let note = pidWatch?.handleEvents(pidFile, pid: main?.pid) { log.note(note) }
                if let i = readyIndex, fds[i].revents != 0 { readReadiness() }
                if let i = notifyIndex, fds[i].revents != 0 { receiveNotifications() }
                if let i = watchIndex, fds[i].revents != 0 { watcher?.readEvents() }
                if fds[0].revents != 0 { handleSignals() }
            }
            handleDeadlines(now: Monotonic.now())
        }
    }

    private func nextDeadline() -> Int64? {
        var deadlines: [Int64] = []
        switch phase {
        case .starting(let window, let timeout):
            if let window { deadlines.append(window) }
            if let timeout { deadlines.append(timeout) }
        case .backoff(let until): deadlines.append(until)
        case .stopping(let killAt, _): if let killAt { deadlines.append(killAt) }
        case .running: break
        }
        if let partialLineDeadline { deadlines.append(partialLineDeadline) }
        if let due = watcher?.dueAt { deadlines.append(due) }
        if let statusSaveDue { deadlines.append(statusSaveDue) }
        return deadlines.min()
    }

    private func handleDeadlines(now: Int64) {
        switch phase {
        case .starting(let window, let timeout):
            if let window, now >= window {
                reportReady()
            } else if let timeout, now >= timeout {
                startFailed("not ready after \(configuration.readyTimeout)", code: ExitCode.failure)
            }
        case .backoff(let until) where now >= until:
            respawn()
        case .stopping(let killAt?, let after) where now >= killAt:
            log.note("\(configuration.name) did not stop within \(stopTimeout): sending KILL")
            phase = .stopping(killAt: nil, after: after)
            main.map { try? $0.send(.kill) }
            ProcessTree.signalDescendants(of: selfPID, .kill)
        default:
            break
        }
        if let deadline = partialLineDeadline, now >= deadline {
            log.flushPartialLine()
            partialLineDeadline = nil
        }
        if let due = statusSaveDue, now >= due {
            statusSaveDue = nil
            saveState()
        }
        if let watcher, let due = watcher.dueAt, now >= due, watcher.takeChanges() {
            watchedChange()
        }
    }

    // MARK: Events

    private func relayOutput() {
        guard let relay else { return }
        _ = log.relay(from: relay.read)
        if log.hasPartialLine {
            if partialLineDeadline == nil { partialLineDeadline = Monotonic.now() + 250_000_000 }
        } else {
            partialLineDeadline = nil
        }
        if log.droppedTotal != state.droppedLines {
            state.droppedLines = log.droppedTotal
            saveState()
        }
    }

    private func handleSignals() {
        while let delivery = signals.next() {
            switch delivery.signal {
            case .child:
                reapChildren()
            case .terminate, .interrupt:
                let overrides = delivery.value.map(StopRequest.decode)
                requestStop(signal: overrides?.signal, timeout: overrides?.timeout)
            case .hangup:
                forward(foreground ? .hangup : configuration.reloadSignal)
            case .user2:
                if foreground { forward(.user2) } else { log.reopen() }
            default:
                forward(delivery.signal)
            }
        }
    }

    private func forward(_ signal: Signal) {
        guard let main else { return }
        try? main.send(signal)
    }

    /// Reaps every exited child. The service's own pid is cleared from the
    /// pidfile before it is reaped, so that the file never names a pid that
    /// could already belong to another process.
    private func reapChildren() {
        while true {
            var info = siginfo_t()
            let pid = dz_wait_any(&info, 1)
            if pid <= 0 { break }
            let isMain = pid == main?.pid
            if isMain { try? pidFile.write(pid: nil) }
            var reaped = siginfo_t()
            guard dz_reap(pid, &reaped) == 0 else { break }
            if isMain { mainExited(ExitStatus(siginfo: reaped)) }
        }
        if case .stopping(let killAt, _) = phase {
            // Orphans adopted since the stop began get the same treatment.
            let signal = killAt == nil ? Signal.kill : stopSignal
            signalled.formUnion(ProcessTree.signalDescendants(of: selfPID, signal, skip: killAt == nil ? [] : signalled))
        }
        checkStopped()
    }

    private func receiveNotifications() {
        guard let notify else { return }
        for _ in 0..<Supervisor.notificationsPerTurn {
            guard let message = notify.receive() else { break }
            let sender = message.sender
            guard sender > 0, sender != selfPID, sender == main?.pid || ProcessTree.isDescendant(sender, of: selfPID) else { continue }
            if let text = message.fields["STATUS"] {
                state.statusText = text
                if statusSaveDue == nil { statusSaveDue = Monotonic.now() + Supervisor.statusSaveInterval }
                if upstreamNotify { Notify.status(text) }
            }
            if let mainPID = message.fields["MAINPID"].flatMap({ PIDFile.parsePID($0.utf8) }),
               mainPID != selfPID, ProcessTree.isDescendant(mainPID, of: selfPID) {
                mainPIDOverride = mainPID
            }
            if case .starting = phase {
                if let code = message.fields["ERRNO"].flatMap({ Int32($0) }) {
                    startFailed("it reported errno \(code) (\(Errno(rawValue: code)))", code: ExitCode.failure)
                } else if message.fields["READY"] == "1" {
                    reportReady()
                }
            }
        }
    }

    private func readReadiness() {
        guard let fd = readyPipe else { return }
        var bytes = [UInt8](repeating: 0, count: 512)
        let n = bytes.withUnsafeMutableBytes { read(fd.rawValue, $0.baseAddress, $0.count) }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
        if n > 0 && !bytes[0..<n].contains(10) { return }
        fd.close()
        readyPipe = nil
        if n > 0, case .starting = phase { reportReady() }
    }

    private func watchedChange() {
        guard main != nil else { return }
        switch configuration.watchAction {
        case .reload:
            log.note("watched files changed: sending \(configuration.reloadSignal.name)")
            forward(configuration.reloadSignal)
        case .restart:
            guard phase == .running else { return }
            log.note("watched files changed: restarting \(configuration.name)")
            beginStop(after: .respawn(delay: 0))
        }
    }

    // MARK: Life cycle

    /// Starts the command. The first start is waited for (min-uptime or
    /// readiness); a respawn runs at once.
    private func spawn(initial: Bool) {
        var descriptors: [Int32: FileDescriptor] = [:]
        var readyWrite: FileDescriptor?
        if case .descriptor(let n) = configuration.ready, let pipe = try? FileDescriptor.pipe() {
            try? pipe.read.setNonBlocking(true)
            readyPipe?.close()
            readyPipe = pipe.read
            readyWrite = pipe.write
            descriptors[n] = pipe.write
        }
        defer { readyWrite?.close() }
        let launch = configuration.launchConfiguration(credentials: credentials, output: directOutput, error: directError,
                                                       notifySocket: notify?.address, descriptors: descriptors,
                                                       parentDeathSignal: configuration.stopSignal)
        let now = Monotonic.now()
        do {
            let process = try Launcher.launch(launch)
            main = try process.handle ?? ProcessHandle.open(pid: process.pid)
            mainStart = now
            mainPIDOverride = nil
            do {
                try pidFile.write(pid: process.pid)
            } catch {
                // A pidfile without the pid is a service nobody can find:
                // stop it and fail (the first start reports why).
                log.note("\(configuration.name): cannot write the pidfile: \(error)")
                state.pid = process.pid
                if initial {
                    startFailed("cannot write the pidfile: \(error)", code: ExitCode.failure)
                } else {
                    state.failure = "failed: cannot write the pidfile: \(error)"
                    beginStop(after: .exit(.failed))
                }
                return
            }
            state.pid = process.pid
            state.pidStartTime = ProcessTable.stat(of: process.pid)?.startTime
            state.serviceSince = WallClock.seconds()
            state.failure = nil
            log.note(Wording.started(configuration.name, pid: process.pid))
        } catch let error as LaunchError {
            if initial {
                startFailed("\(error)", code: error.startExitCode)
            } else {
                log.note("\(configuration.name) could not be started: \(error)")
                lastStatus = .exited(127)
                decideAfterExit(.exited(127), ranFor: 0)
            }
            return
        } catch {
            if initial { startFailed("\(error)", code: ExitCode.failure) }
            return
        }
        if !initial {
            phase = .running
            state.phase = .running
            saveState()
            return
        }
        switch configuration.ready {
        case .exec:
            if configuration.minUptime.nanoseconds == 0 {
                reportReady()
            } else {
                phase = .starting(windowEnd: now + configuration.minUptime.nanoseconds, timeout: nil)
                saveState()
            }
        case .notify, .descriptor:
            phase = .starting(windowEnd: nil, timeout: now + configuration.readyTimeout.nanoseconds)
            saveState()
        }
    }

    private func respawn() {
        state.restarts += 1
        schedule.started(at: Monotonic.now())
        spawn(initial: false)
    }

    private func reportReady() {
        phase = .running
        state.phase = .running
        saveState()
        let pid = main?.pid ?? 0
        if configuration.ready != .exec { log.note("\(configuration.name) is ready") }
        reporter?.ready(Wording.started(configuration.name, pid: pid))
        reporter = nil
        if upstreamNotify { Notify.send("READY=1\nSTATUS=" + Wording.started(configuration.name, pid: pid)) }
    }

    /// The first start failed: report it (with the last lines of the log)
    /// and stop whatever is left.
    private func startFailed(_ reason: String, code: Int32) {
        relayOutput()
        log.flushPartialLine()
        let lines = log.recentLines(10).filter { !$0.hasPrefix("swiftd: ") }.suffix(5)
        reporter?.fail(Wording.startFailure(configuration.name, reason: reason, lines: Array(lines)), exitCode: code)
        reporter = nil
        if upstreamNotify { Notify.send("STATUS=\(configuration.name) failed to start: \(reason)") }
        log.note("\(configuration.name) failed to start: \(reason)")
        state.failure = "failed to start: \(reason)"
        failureCode = code
        beginStop(after: .exit(.failed))
    }

    private func mainExited(_ status: ExitStatus) {
        let ranFor = Monotonic.now() - mainStart
        let exitedPID = main?.pid
        main?.close()
        main = nil
        lastStatus = status
        state.lastExit = status
        state.pid = nil

        // A service that named another of its processes as its main one
        // (MAINPID=) and exited hands over to it: no restart.
        if let heir = mainPIDOverride, heir != exitedPID, ProcessTable.stat(of: heir)?.parent == selfPID,
           let handle = try? ProcessHandle.open(pid: heir) {
            main = handle
            mainPIDOverride = nil
            try? pidFile.write(pid: heir)
            state.pid = heir
            state.pidStartTime = ProcessTable.stat(of: heir)?.startTime
            log.note("\(configuration.name) \(status); its main process is now \(heir)")
            saveState()
            return
        }

        relayOutput()
        switch phase {
        case .starting:
            let left = status.isSuccess ? ProcessTree.descendants(of: selfPID).count : 0
            startFailed(left > 0 ? Wording.daemonized("\(status)", left: left) : "\(status)", code: ExitCode.failure)
        case .stopping:
            // Recorded when the stop completes (`finish`): one write, not two.
            break
        case .running, .backoff:
            log.note("\(configuration.name) \(status)")
            decideAfterExit(status, ranFor: ranFor)
        }
    }

    private func decideAfterExit(_ status: ExitStatus, ranFor: Int64) {
        switch schedule.decide(status, ranFor: ranFor, now: Monotonic.now()) {
        case .stop:
            beginStop(after: .exit(.exited))
        case .respawn(let delay, let requested):
            if requested {
                log.note("restart requested (exit status \(configuration.restartExitCode)): restarting now")
            } else {
                log.note(delay == 0 ? "restarting now" : "restarting in \(Interval(nanoseconds: delay))")
            }
            beginStop(after: .respawn(delay: delay))
        case .giveUp(let record):
            log.note(record)
            state.failure = record
            beginStop(after: .exit(.failed))
        }
    }

    /// A stop was asked for (SIGTERM, SIGINT, or `swiftd stop`).
    private func requestStop(signal: Signal?, timeout: Interval?) {
        if let signal { stopSignal = signal }
        if let timeout { stopTimeout = timeout }
        state.phase = .stopping
        switch phase {
        case .backoff:
            finish(.stopped)
        case .stopping(let killAt, _):
            phase = .stopping(killAt: killAt, after: .exit(.stopped))
            saveState()
        case .starting:
            reporter?.fail("\(configuration.name) was stopped before it was ready", exitCode: ExitCode.failure)
            reporter = nil
            saveState()
            beginStop(after: .exit(.stopped))
        case .running:
            saveState()
            log.note("stopping \(configuration.name)")
            if upstreamNotify { Notify.stopping() }
            beginStop(after: .exit(.stopped))
        }
    }

    /// Sends the stop signal to every process of the service (SIGKILL follows
    /// at the timeout), then waits until none is left.
    private func beginStop(after: After) {
        phase = .stopping(killAt: Monotonic.now() + stopTimeout.nanoseconds, after: after)
        signalled = []
        if let main {
            try? main.send(stopSignal)
            try? main.send(.continue)
            signalled.insert(main.pid)
        }
        signalled.formUnion(ProcessTree.signalDescendants(of: selfPID, stopSignal, skip: signalled))
        checkStopped()
    }

    /// When stopping and no child is left: do what comes next.
    private func checkStopped() {
        guard case .stopping(_, let after) = phase else { return }
        var info = siginfo_t()
        guard dz_wait_any(&info, 1) < 0, errno == ECHILD else { return }
        switch after {
        case .exit(let final):
            finish(final)
        case .respawn(let delay):
            if delay <= 0 {
                respawn()
            } else {
                phase = .backoff(until: Monotonic.now() + delay)
                state.phase = .backoff
                saveState()
            }
        }
    }

    /// Records the end, releases the pidfile and exits: with the service's
    /// status in the foreground, 1 for a failure in the background.
    private func finish(_ final: ServiceState.Phase) -> Never {
        relayOutput()
        log.flushPartialLine()
        state.phase = final
        state.pid = nil
        state.droppedLines = log.droppedTotal
        saveState()
        reporter?.fail("\(configuration.name) stopped during startup", exitCode: ExitCode.failure)
        pidFile.release()
        // Output still held back for a full descriptor gets a second, no more.
        log.drainBacklog(timeoutMilliseconds: 1000)
        if foreground {
            if final == .failed && lastStatus == nil { exit(failureCode) }
            exit(lastStatus?.shellStatus ?? 0)
        }
        exit(final == .failed ? 1 : 0)
    }

    private func saveState() {
        try? state.write(paths.stateFile(configuration.name))
    }
}
