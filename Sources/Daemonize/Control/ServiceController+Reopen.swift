internal import Glibc

extension ServiceController {
    // MARK: reopen

    /// Asks the service's supervisor to reopen its log (after logrotate
    /// renamed it; with syslog, to connect again) and returns once it says it
    /// did: it records one more reopen in the state file. Works for `start`
    /// and `run` alike. Exit 0 done, 1 no supervisor to ask (exec mode: the
    /// service writes its log itself) or no answer, 3 not running, 4 no permission.
    package func reopen(_ name: ServiceName) -> Outcome {
        if let refused = checkRunDirectory() { return refused }
        do {
            let snapshot = try ServiceSnapshot.read(name, paths: paths)
            if case .untrusted(let holder) = snapshot.lock {
                return Outcome(code: ExitCode.failure, error: untrustedLock(snapshot, holder: holder))
            }
            if snapshot.isExecMode {
                guard try snapshot.isRunning() else { return Outcome(code: ExitCode.notRunning, error: Wording.notRunning(name)) }
                return Outcome(code: ExitCode.failure, error: "\(name) runs without a supervisor (no-supervise): it writes its log itself, "
                               + "which cannot be reopened (rotate it with copytruncate)")
            }
            guard let supervisor = try snapshot.supervisor() else {
                return Outcome(code: ExitCode.notRunning, error: Wording.notRunning(name))
            }
            defer { supervisor.close() }
            let before = snapshot.recorded?.logReopens ?? 0
            try supervisor.send(.user2, value: Supervisor.reopenLogRequest)
            if waitForReopen(name, supervisor: supervisor, after: before) {
                return Outcome(code: ExitCode.success, output: "\(name) reopened its log")
            }
            if supervisor.hasExited { return Outcome(code: ExitCode.notRunning, error: Wording.notRunning(name)) }
            return Outcome(code: ExitCode.failure, error: "\(name): its supervisor (pid \(supervisor.pid)) did not say it reopened its log")
        } catch let error as SystemError where error.errno == .noSuchProcess {
            return Outcome(code: ExitCode.notRunning, error: Wording.notRunning(name))
        } catch {
            return Outcome(code: ExitCode.of(error), error: error is ServiceError ? "\(error)" : "\(name): \(error)")
        }
    }

    /// Waits (5 s at most, while the supervisor lives) for its record to count more than `before` reopens.
    private func waitForReopen(_ name: ServiceName, supervisor: ProcessHandle, after before: Int) -> Bool {
        let deadline = Monotonic.now() + 5_000_000_000
        var pause: Int64 = 200_000
        while Monotonic.now() < deadline {
            if let state = try? ServiceState.read(paths.stateFile(name), name: name), state.supervisorPID == supervisor.pid, state.logReopens > before {
                return true
            }
            if supervisor.waitForExit(timeoutMilliseconds: 0) { return false }
            Monotonic.sleep(nanoseconds: pause)
            pause = min(pause * 2, 10_000_000)
        }
        return false
    }
}
