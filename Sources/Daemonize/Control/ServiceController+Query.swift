internal import Glibc

extension ServiceController {
    /// Every service the run dir knows of (a NAME.pid or NAME.state file), sorted.
    package func knownServices() -> [ServiceName] {
        var names: Set<ServiceName> = []
        for entry in ProcessTable.entries(of: paths.runDirectory) {
            let stem = entry.hasSuffix(".pid") ? entry.dropLast(4) : entry.hasSuffix(".state") ? entry.dropLast(6) : nil
            if let stem, let name = ServiceName(String(stem)) { names.insert(name) }
        }
        return names.sorted()
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
