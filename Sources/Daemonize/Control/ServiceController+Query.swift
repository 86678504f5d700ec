internal import Glibc

extension ServiceController {
    /// Every service the run dir knows of (a NAME.pid or NAME.state file), sorted.
    package func knownServices() -> [ServiceName] {
        // A service has a pidfile, a state file or both: their stems, sorted,
        // each checked and kept once (no set: a thousand services are two
        // thousand entries to hash). Suffixes are matched on the entry's
        // bytes: a String is made for a stem only.
        var stems: [String] = []
        ProcessTable.forEachEntry(of: paths.runDirectory) { entry in
            for suffix in [".pid", ".state"] as [StaticString] where entry.count > suffix.utf8CodeUnitCount {
                let stem = entry.count - suffix.utf8CodeUnitCount
                if memcmp(entry.baseAddress! + stem, suffix.utf8Start, suffix.utf8CodeUnitCount) == 0 {
                    stems.append(String(decoding: UnsafeBufferPointer(rebasing: entry[..<stem]), as: UTF8.self))
                    return
                }
            }
        }
        stems.sort()
        var names: [ServiceName] = []
        names.reserveCapacity(stems.count / 2 + 1)
        for index in stems.indices where index == 0 || stems[index] != stems[index - 1] {
            if let name = ServiceName(stems[index]) { names.append(name) }
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
