internal import Glibc

extension ServiceController {
    /// `swiftd forget NAME`: removes the record and pidfile of a service that
    /// is not running, so that `list` no longer shows it, after stopping any
    /// process a dead instance left. Only under the pidfile's lock, and only
    /// when the record names no live instance (an exec-mode service that
    /// let go of its lock still counts). The log stays.
    package func forget(_ name: ServiceName) -> Outcome {
        if let refused = checkRunDirectory() { return refused }
        let stateFile = paths.stateFile(name)
        guard FileSystem.exists(stateFile) || FileSystem.exists(paths.pidFile(name)) else {
            return Outcome(code: ExitCode.success, output: Wording.nothingToForget(name))
        }
        do {
            let lock = try PIDFile.acquire(at: paths.pidFile(name), pid: nil, waitForPID: .zero)
            // Released last: the file goes, as this process is its only holder.
            defer { lock.release() }
            // A record that cannot be read is removed all the same: it is in our run dir, and describes nothing running.
            if let recorded = try? ServiceState.read(stateFile, name: name) {
                if let live = try recorded.liveInstance() {
                    return Outcome(code: ExitCode.failure, error: Wording.stillRunning(name, pid: live.pid ?? live.supervisor))
                }
                if !Leftovers.find(recorded).isEmpty {
                    Leftovers.stop(recorded, plan: StopRequest.plan(recorded.configuration))
                }
            }
            // Through the run dir checked again: the name checked is the name removed.
            let directory = try Directory.openTrusted(paths.runDirectory, what: "run dir")
            defer { directory.close() }
            try directory.remove(Path.fileName(of: stateFile))
            return Outcome(code: ExitCode.success, output: Wording.forgotten(name))
        } catch let locked as PIDFile.Locked {
            return Outcome(code: ExitCode.failure, error: Wording.stillRunning(name, pid: locked.pid ?? locked.holder))
        } catch {
            return Outcome(code: ExitCode.of(error), error: "\(name): \(error)")
        }
    }
}
