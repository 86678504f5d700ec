internal import Glibc

extension ServiceController {
    // MARK: run

    /// `swiftd run`: supervises in the foreground and exits with the
    /// service's status; exits with `busy-exit-code` (1) when NAME is
    /// already running, saying so unless that code is 0 or `quiet` (a cron
    /// guard prints nothing, as `flock -n -E N`). Its output goes to its own
    /// unless a log file is named: no log file or log dir is made for it.
    package func run(_ configuration: ServiceConfiguration, quiet: Bool = false) -> Int32 {
        var configuration = configuration
        let name = configuration.name
        func busy(_ pid: pid_t?, supervisor: pid_t?, phase: ServiceState.Phase? = nil) -> Int32 {
            if configuration.busyExitCode != 0 && !quiet {
                Standard.error("swiftd: " + Wording.alreadyRunning(name, pid: pid, supervisor: supervisor, phase: phase))
            }
            return configuration.busyExitCode
        }
        do {
            _ = try prepare(&configuration, foreground: true)
            let pidFile: PIDFile
            do {
                pidFile = try PIDFile.acquire(at: paths.pidFile(name), pid: nil)
            } catch let locked as PIDFile.Locked {
                return busy(locked.pid, supervisor: locked.holder)
            }
            if let recorded = try? ServiceState.read(paths.stateFile(name), name: name), let live = try recorded.liveInstance() {
                pidFile.release()
                return busy(live.pid, supervisor: live.supervisor, phase: recorded.phase)
            }
            let supervisor = try Supervisor(configuration: configuration, paths: paths, pidFile: pidFile, role: .foreground)
            supervisor.run()
        } catch let error as ServiceError {
            Standard.error("swiftd: \(error.message)")
            return error.code
        } catch let error as ConfigurationError {
            Standard.error("swiftd: \(error.message)")
            return configuration.exitCode(for: error)
        } catch {
            Standard.error("swiftd: \(name): \(error)")
            return ExitCode.of(error)
        }
    }

    /// The configuration `run` uses for `loaded`: as PID 1 (a container's
    /// init) with no restart setting given (`restart` or
    /// `restart-exit-code`, by option or key), the command runs once and
    /// `run` exits with its status, as tini does: the orchestrator decides
    /// about restarts.
    package static func runConfiguration(_ loaded: ConfigurationLoader.Loaded, asInit: Bool = CurrentProcess.id == 1) -> ServiceConfiguration {
        var configuration = loaded.configuration
        guard asInit else { return configuration }
        // A recorded configuration (run again with no command) keeps the options it was given.
        let given = ["restart", "restart-exit-code"].contains { key in
            loaded.origins[key] != nil || configuration.commandLineOptions.contains { $0.splitAtFirst("=")?.before == key }
        }
        if !given {
            configuration.restart = .no
            configuration.restartExitCode = nil
        }
        return configuration
    }
}
