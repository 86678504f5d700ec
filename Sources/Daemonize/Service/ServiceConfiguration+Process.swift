internal import Glibc

/// The process environment of the service (`limit`, `chroot`, `iosched`,
/// `cpusched`, `env-file`): how the values are read and written, and what is
/// checked before anything starts.
extension ServiceConfiguration {
    // MARK: Values

    /// Parses "RES=SOFT[:HARD]" (`limit`): a number, a size with K, M, G or T
    /// for the limits counted in bytes, or "unlimited"; one value sets both.
    static func parseLimit(_ text: String) throws -> ResourceLimit {
        func bad(_ reason: String) -> ConfigurationError { ConfigurationKey.bad("limit", text, reason) }
        guard let (name, values) = text.splitAtFirst("="), !name.isEmpty else {
            throw bad("expected RES=SOFT[:HARD], like nofile=65536 or core=unlimited")
        }
        guard let resource = ResourceLimit.Resource(rawValue: name) else {
            throw bad("unknown resource '\(name)'; expected one of \(ResourceLimit.Resource.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let parts = values.split(scalar: ":", omittingEmpty: false)
        guard parts.count <= 2 else { throw bad("expected RES=SOFT[:HARD]") }
        func value(_ word: String) throws -> UInt64? {
            if word == "unlimited" || word == "infinity" { return nil }
            if resource.isSize, let size = ByteSize(parsing: word) { return UInt64(size.bytes) }
            guard !word.isEmpty, word.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = UInt64(word), n < UInt64.max else {
                throw bad("'\(word)' is not \(resource.isSize ? "a size like 64M" : "a number") or unlimited")
            }
            return n
        }
        let soft = try value(parts[0])
        let hard = parts.count == 2 ? try value(parts[1]) : soft
        if let hard, soft.map({ $0 > hard }) ?? true {
            throw bad("the soft limit \(soft.map(String.init) ?? "unlimited") is above the hard limit \(hard)")
        }
        return ResourceLimit(resource, soft: soft, hard: hard)
    }

    /// "nofile=1024:4096", "core=unlimited", "memlock=64M": as `parseLimit` reads it.
    static func limitText(_ limit: ResourceLimit) -> String {
        let soft = limitValueText(limit.soft, of: limit.resource)
        return "\(limit.resource.rawValue)=\(soft)" + (limit.soft == limit.hard ? "" : ":\(limitValueText(limit.hard, of: limit.resource))")
    }

    /// "unlimited", "64M" for a limit counted in bytes, else the number.
    static func limitValueText(_ value: UInt64?, of resource: ResourceLimit.Resource) -> String {
        guard let value else { return "unlimited" }
        if resource.isSize, value <= UInt64(Int64.max) { return ByteSize(bytes: Int64(value)).description }
        return "\(value)"
    }

    /// Parses "CLASS[:LEVEL]" (`iosched`): idle, best-effort or real-time, levels 0 to 7 (4 by default).
    static func parseIOScheduling(_ text: String) throws -> IOScheduling {
        let expected = "expected idle, best-effort[:0-7] or real-time[:0-7]"
        let (name, level) = text.splitAtFirst(":") ?? (text, nil)
        guard let ioClass = IOScheduling.Class(rawValue: name) else { throw ConfigurationKey.bad("iosched", text, "unknown class '\(name)'; \(expected)") }
        guard let level else { return IOScheduling(ioClass) }
        if ioClass == .idle { throw ConfigurationKey.bad("iosched", text, "idle takes no level") }
        guard let n = Int32(level), (0...7).contains(n) else { throw ConfigurationKey.bad("iosched", text, "the level must be 0 to 7") }
        return IOScheduling(ioClass, level: n)
    }

    /// Parses "POLICY[:PRIO]" (`cpusched`): other, batch, idle (priority 0), or fifo, rr (1 to 99, 1 by default).
    static func parseCPUScheduling(_ text: String) throws -> CPUScheduling {
        let expected = "expected other, batch, idle, fifo[:1-99] or rr[:1-99]"
        let (name, priority) = text.splitAtFirst(":") ?? (text, nil)
        guard let policy = CPUScheduling.Policy(rawValue: name) else { throw ConfigurationKey.bad("cpusched", text, "unknown policy '\(name)'; \(expected)") }
        guard let priority else { return CPUScheduling(policy, priority: policy.isRealTime ? 1 : 0) }
        let range: ClosedRange<Int32> = policy.isRealTime ? 1...99 : 0...0
        guard let n = Int32(priority), range.contains(n) else {
            throw ConfigurationKey.bad("cpusched", text, policy.isRealTime ? "the priority of \(name) must be 1 to 99" : "\(name) takes no priority")
        }
        return CPUScheduling(policy, priority: n)
    }

    // MARK: Checked before anything starts

    /// A value found wrong when the service is prepared, worded for where it
    /// was set: the command line (exit 2) or the config file (exit 6).
    func invalid(_ key: String, _ value: String, _ reason: String) -> ConfigurationError {
        var error = ConfigurationError.badValue(key, value, reason)
        if case .configFile(let file) = source, !commandLineOptions.contains("\(key)=\(value)") {
            error.message = "\(file): \(error.message)"
            error.origin = .file(file)
        } else {
            error.message = error.optionMessage
            error.origin = .commandLine
        }
        return error
    }

    /// Checks what can only be checked on this machine: the chroot directory
    /// exists and only its owner (this user or root) can write it, and the
    /// limits can be set (`nofile` within /proc/sys/fs/nr_open; a hard limit
    /// raised, or `oom-score-adjust` lowered below 0 and this process's own,
    /// only with `CAP_SYS_RESOURCE`, which root may lack in a container).
    package func checkProcessEnvironment() throws {
        if let root = rootDirectory { try openRoot(root).close() }
        if let wanted = oomScoreAdjustment, let current = CurrentProcess.oomScoreAdjustment, wanted < min(current, 0),
           !CurrentProcess.hasCapability(CurrentProcess.capabilitySysResource) {
            throw invalid("oom-score-adjust", "\(wanted)", "lowering it below \(min(current, 0)) needs CAP_SYS_RESOURCE, which this process lacks")
        }
        for limit in limits {
            let text = ServiceConfiguration.limitText(limit)
            if limit.resource == .nofile, let most = FileSystem.readNumber("/proc/sys/fs/nr_open"),
               [limit.soft, limit.hard].contains(where: { $0 == nil || $0! > most }) {
                throw invalid("limit", text, "nofile cannot be above \(most) (/proc/sys/fs/nr_open)")
            }
            if let current = CurrentProcess.resourceLimit(limit.resource.code), let ceiling = current.hard, limit.hard.map({ $0 > ceiling }) ?? true,
               !CurrentProcess.hasCapability(CurrentProcess.capabilitySysResource) {
                throw invalid("limit", text, "the hard limit is \(ServiceConfiguration.limitValueText(ceiling, of: limit.resource)): only root (with CAP_SYS_RESOURCE) may raise it")
            }
        }
    }

    /// The chroot directory, opened: a directory this user or root owns,
    /// which no one else can write (they could put their own programs in it).
    func openRoot(_ root: String) throws -> FileDescriptor {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.openPath(root, directory: true)
        } catch let error as SystemError {
            let reason = error.errno == .noSuchFile ? "no such directory" : error.errno == .notDirectory ? "not a directory" : "\(error.errno)"
            throw invalid("chroot", root, reason)
        }
        do {
            let st = try fd.status()
            if st.st_uid != 0 && st.st_uid != CurrentProcess.effectiveUserID {
                throw invalid("chroot", root, "owned by uid \(st.st_uid), not by this user or root: refused")
            }
            if st.st_mode & 0o022 != 0 { throw invalid("chroot", root, "writable by group or others: refused") }
        } catch {
            fd.close()
            throw error
        }
        return fd
    }

    /// The command resolved inside the chroot directory, as the service will see it.
    func resolvedInRoot(_ root: String, command: String, searchPath: String?) throws -> String {
        let fd = try openRoot(root)
        defer { fd.close() }
        do {
            return try ExecutableLookup.resolve(command, searchPath: searchPath, root: fd, workingDirectory: chdir)
        } catch let error as LaunchError {
            let what = command.contains(scalar: "/") ? "no executable \(command) inside it" : "no executable '\(command)' in its PATH inside it"
            throw invalid("chroot", root, error.errno == .noSuchFile ? what : "\(command) inside it: \(error.errno)")
        }
    }

    // MARK: Environment files

    /// Reads every `env-file` now, into `fileEnvironment`: "-PATH" may be
    /// missing, any other problem (unreadable, untrusted, a malformed line)
    /// is a `ConfigurationError` naming the file (and line).
    package mutating func readEnvironmentFiles() throws {
        var entries: [String] = []
        for setting in environmentFiles {
            let optional = setting.begins(with: "-")
            let path = optional ? String(setting.unicodeScalars.dropFirst()) : setting
            do {
                entries += try EnvironmentFile.read(path)
            } catch let error as SystemError where error.errno == .noSuchFile && optional {
                continue
            } catch let error as EnvironmentFile.Malformed {
                throw environmentFileError(setting, "env file \(path):\(error.line): \(error.reason)")
            } catch let error as SystemError {
                let reason = error.errno == .tooManySymbolicLinks ? "is a symbolic link (refused)" : "\(error.errno)"
                throw environmentFileError(setting, "env file \(path): \(reason)")
            } catch let error as InvalidFile {
                throw environmentFileError(setting, "env file \(error.message)")
            }
        }
        fileEnvironment = entries
    }

    private func environmentFileError(_ setting: String, _ message: String) -> ConfigurationError {
        if case .configFile(let file) = source, !commandLineOptions.contains("env-file=\(setting)") {
            return ConfigurationError(key: "env-file", message: message, origin: .file(file))
        }
        return ConfigurationError(key: "env-file", message: message, origin: .commandLine)
    }
}
