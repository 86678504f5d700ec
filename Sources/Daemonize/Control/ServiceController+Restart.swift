internal import Glibc

extension ServiceController {
    // MARK: restart

    /// Stops the service (if running) and starts it with `configuration`.
    /// A running service with `listen` sockets or `restart-mode = overlap`
    /// whose configuration is unchanged is restarted in place by its
    /// supervisor instead, which keeps the sockets open (see `restartInPlace`).
    /// A configuration found wrong (`prepare`) touches nothing: the service
    /// runs on, and the restart fails with why and start's exit code.
    /// Either way the restart counts: a service that was running starts
    /// again with its record's count of restarts, one more.
    package func restart(_ configuration: ServiceConfiguration) -> Outcome {
        if let refused = refuseRestart(configuration) { return refused }
        if let inPlace = restartInPlace(configuration) { return inPlace }
        let recorded = (try? ServiceSnapshot.read(configuration.name, paths: paths))?.recorded
        let restarts = recorded.map { [.starting, .running, .backoff, .waiting].contains($0.phase) ? $0.restarts + 1 : 0 } ?? 0
        let stopped = stop(configuration.name)
        guard stopped.code == ExitCode.success else { return stopped }
        var started = start(configuration, restarts: restarts)
        if started.code == ExitCode.success, let output = started.output {
            started.output = output.replacingAll(" started ", with: " restarted ")
        }
        return started
    }

    /// Nil when `configuration` passes `prepare` (`validate`, then its log
    /// made as the start will: the one test of some file systems); else the
    /// outcome of a restart that did not touch the service, which says
    /// whether it runs on.
    private func refuseRestart(_ configuration: ServiceConfiguration) -> Outcome? {
        var checked = configuration
        let failure: Outcome
        do {
            _ = try prepare(&checked)
            return nil
        } catch let error as ConfigurationError {
            failure = Outcome(code: configuration.exitCode(for: error), error: error.message)
        } catch let error as ServiceError {
            failure = .failure(error)
        } catch {
            failure = Outcome(code: ExitCode.of(error), error: "\(configuration.name): \(error)")
        }
        let status = status(configuration.name)
        guard status.isRunning else { return failure }
        return Outcome(code: failure.code, error: Wording.notRestarted(configuration.name, pid: status.pid, reason: failure.error ?? ""))
    }

    /// Asks the supervisor to restart its service in place and waits for
    /// the outcome it records: exit 0 once the new instance is ready, 1 with
    /// the reason when it failed (with overlap, the old one then still
    /// serves). Nil when this restart is a stop and a start: the service is
    /// not running under a supervisor, restarts by stopping (no `listen`,
    /// no overlap), or is given a configuration that differs from the one
    /// it runs with (the new one needs a new supervisor: the sockets close
    /// between the two).
    func restartInPlace(_ configuration: ServiceConfiguration) -> Outcome? {
        let name = configuration.name
        guard let snapshot = try? ServiceSnapshot.read(name, paths: paths), !snapshot.isExecMode,
              let recorded = snapshot.recorded, [.running, .backoff, .waiting].contains(recorded.phase),
              !recorded.configuration.listen.isEmpty || recorded.configuration.restartMode == .overlap,
              Self.sameService(recorded.configuration, configuration),
              let supervisor = try? snapshot.supervisor() else { return nil }
        defer { supervisor.close() }
        var ticket = recorded.restartsBegun
        let patience = StopRequest.plan(recorded.configuration).total.nanoseconds + recorded.configuration.readyTimeout.nanoseconds
            + recorded.configuration.minUptime.nanoseconds + recorded.configuration.settle.nanoseconds + 10_000_000_000
        let deadline = Monotonic.now() + patience
        var resendAt: Int64 = 0
        var pause: Int64 = 500_000
        while Monotonic.now() < deadline {
            let state = try? ServiceState.read(paths.stateFile(name), name: name)
            if let state, state.supervisorPID == supervisor.pid {
                if state.restartsEnded > ticket {
                    if let failure = state.restartFailure {
                        return Outcome(code: ExitCode.failure, error: "\(name): restart failed: \(failure)")
                    }
                    return Outcome(code: ExitCode.success, output: "\(name) restarted (pid \(state.pid.map(String.init) ?? "?"))")
                }
                // Not begun: ask (again: a second SIGUSR2 queued before the first is read is lost).
                if state.restartsBegun <= ticket, Monotonic.now() >= resendAt {
                    ticket = state.restartsBegun
                    do {
                        try supervisor.send(.user2, value: Supervisor.restartRequest)
                    } catch {
                        return Outcome(code: ExitCode.of(error), error: "\(name): cannot ask its supervisor (pid \(supervisor.pid)) to restart it: \(error)")
                    }
                    resendAt = Monotonic.now() + 1_000_000_000
                }
            }
            if supervisor.waitForExit(timeoutMilliseconds: 0) {
                return Outcome(code: ExitCode.failure, error: "\(name): its supervisor (pid \(supervisor.pid)) exited during the restart")
            }
            Monotonic.sleep(nanoseconds: pause)
            pause = min(pause * 2, 20_000_000)
        }
        return Outcome(code: ExitCode.failure, error: "\(name): its supervisor (pid \(supervisor.pid)) did not finish the restart within \(Interval(nanoseconds: patience))")
    }

    /// The same command and settings: what a restart in place can apply.
    static func sameService(_ a: ServiceConfiguration, _ b: ServiceConfiguration) -> Bool {
        a.argvForRecord == b.argvForRecord && a.settings.map { "\($0)=\($1)" } == b.settings.map { "\($0)=\($1)" }
    }
}
