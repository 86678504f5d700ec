internal import Glibc

extension ServiceController {
    /// Every service the run dir knows of (a NAME.pid or NAME.state file), sorted.
    package func knownServices() -> [ServiceName] {
        // A service has a pidfile, a state file or both: their stems, sorted,
        // each checked and kept once (no set: a thousand services are two
        // thousand entries to hash).
        var stems: [String] = []
        for entry in ProcessTable.entries(of: paths.runDirectory) {
            if entry.hasSuffix(".pid") {
                stems.append(String(entry.dropLast(4)))
            } else if entry.hasSuffix(".state") {
                stems.append(String(entry.dropLast(6)))
            }
        }
        stems.sort()
        var names: [ServiceName] = []
        for (index, stem) in stems.enumerated() where index == 0 || stem != stems[index - 1] {
            if let name = ServiceName(stem) { names.append(name) }
        }
        return names
    }

    /// The status of one service.
    package func status(_ name: ServiceName) -> ServiceStatus {
        ServiceStatus.probe(name, paths: paths)
    }

    /// The status of every known service.
    package func statuses() -> [ServiceStatus] {
        knownServices().map { status($0) }
    }

    /// The log file of `name`: as recorded at its last start, else the default.
    package func logFile(_ name: ServiceName) -> String? {
        logConfiguration(name).logFile(in: paths)
    }

    /// Where `name` logs: as recorded at its last start, else as its config
    /// file says, else the default.
    package func logTarget(_ name: ServiceName) -> ServiceConfiguration.LogTarget {
        logConfiguration(name).log
    }

    private func logConfiguration(_ name: ServiceName) -> ServiceConfiguration {
        if let recorded = try? ServiceState.read(paths.stateFile(name), name: name) {
            return recorded.configuration
        }
        var configuration = ServiceConfiguration(name: name)
        if FileSystem.exists(paths.configFile(name)) {
            var origins: [String: String] = [:]
            if (try? ConfigurationFile.apply(paths.configFile(name), to: &configuration, origins: &origins)) == nil {
                configuration = ServiceConfiguration(name: name)
            }
        }
        return configuration
    }
}
