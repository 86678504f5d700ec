internal import Glibc

extension ServiceController {
    /// Every service the run dir knows of (a NAME.pid or NAME.state file), sorted.
    package func knownServices() -> [ServiceName] {
        var names: Set<ServiceName> = []
        for entry in ProcessTable.entries(of: paths.runDirectory) {
            for suffix in [".pid", ".state"] where entry.hasSuffix(suffix) {
                if let name = ServiceName(String(entry.dropLast(suffix.count))) { names.insert(name) }
            }
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
        if let recorded = try? ServiceState.read(paths.stateFile(name), name: name) {
            return recorded.configuration.logFile(in: paths)
        }
        if FileSystem.exists(paths.configFile(name)) {
            var configuration = ServiceConfiguration(name: name)
            var origins: [String: String] = [:]
            if (try? ConfigurationFile.apply(paths.configFile(name), to: &configuration, origins: &origins)) != nil {
                return configuration.logFile(in: paths)
            }
        }
        return paths.defaultLogFile(name)
    }
}
