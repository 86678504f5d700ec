internal import Glibc

/// Where swiftd keeps its files: the run dir (`NAME.pid`, `NAME.state`), the
/// log dir (`NAME.log`) and the config dir (`NAME.conf`).
package struct ServicePaths: Hashable, Sendable {
    package var runDirectory: String
    package var logDirectory: String
    package var configDirectory: String

    /// The directories from explicit options, else `SWIFTD_RUN_DIR`,
    /// `SWIFTD_LOG_DIR`, `SWIFTD_CONFIG_DIR`, else the defaults for this user
    /// (root: /run/swiftd, /var/log/swiftd, /etc/swiftd; others: the XDG directories).
    package init(runDirectory: String? = nil, logDirectory: String? = nil, configDirectory: String? = nil) {
        let env = Environment.value
        let root = CurrentProcess.effectiveUserID == 0
        let uid = CurrentProcess.effectiveUserID
        let home = env("HOME") ?? "/"
        func nonEmpty(_ s: String?) -> String? { (s?.isEmpty ?? true) ? nil : s }
        self.runDirectory = Path.absolute(nonEmpty(runDirectory) ?? nonEmpty(env("SWIFTD_RUN_DIR")) ?? (root ? "/run/swiftd"
            : nonEmpty(env("XDG_RUNTIME_DIR")).map { Path.join($0, "swiftd") } ?? "/tmp/swiftd-\(uid)"))
        self.logDirectory = Path.absolute(nonEmpty(logDirectory) ?? nonEmpty(env("SWIFTD_LOG_DIR")) ?? (root ? "/var/log/swiftd"
            : Path.join(nonEmpty(env("XDG_STATE_HOME")) ?? Path.join(home, ".local/state"), "swiftd")))
        self.configDirectory = Path.absolute(nonEmpty(configDirectory) ?? nonEmpty(env("SWIFTD_CONFIG_DIR")) ?? (root ? "/etc/swiftd"
            : Path.join(nonEmpty(env("XDG_CONFIG_HOME")) ?? Path.join(home, ".config"), "swiftd")))
    }

    package func pidFile(_ name: ServiceName) -> String { Path.join(runDirectory, name.rawValue, suffix: ".pid") }
    package func stateFile(_ name: ServiceName) -> String { Path.join(runDirectory, name.rawValue, suffix: ".state") }
    package func defaultLogFile(_ name: ServiceName) -> String { Path.join(logDirectory, name.rawValue, suffix: ".log") }
    package func configFile(_ name: ServiceName) -> String { Path.join(configDirectory, name.rawValue, suffix: ".conf") }

    /// For `NAME@INSTANCE`: the template `NAME@.conf` and the instance
    /// (systemd's convention); nil for a name without one.
    package func template(for name: ServiceName) -> (file: String, instance: String)? {
        guard let (prefix, instance) = name.rawValue.splitAtFirst("@"), !prefix.isEmpty, !instance.isEmpty else { return nil }
        return (Path.join(configDirectory, "\(prefix)@.conf"), instance)
    }

    /// The instance a template file serves for `name`, when `file` is the template.
    package func instance(of name: ServiceName, in file: String) -> String? {
        guard let template = template(for: name), template.file == file else { return nil }
        return template.instance
    }

    /// Creates the run dir when missing (0755 for root, 0700 for other users)
    /// and checks that it is safe to keep pidfiles in: a real directory (not
    /// a symlink), owned by this user or root, not writable by others unless
    /// sticky, and writable by this user.
    package func prepareRunDirectory() throws {
        try Self.prepare(runDirectory, what: "run dir", mode: CurrentProcess.effectiveUserID == 0 ? 0o755 : 0o700)
    }

    /// Creates the log dir when missing (0755) and checks it like the run dir.
    package func prepareLogDirectory(for logFile: String) throws {
        try Self.prepare(Path.directory(of: logFile), what: "log dir", mode: 0o755)
    }

    /// Checks the log dir as `prepareLogDirectory` would, creating nothing:
    /// when it is missing, the nearest directory above it that exists must
    /// be one this user can create it in.
    package func checkLogDirectory(for logFile: String) throws {
        let directory = Path.directory(of: logFile)
        do {
            var existing = directory
            while try FileSystem.linkStatus(existing) == nil, existing != "/" { existing = Path.directory(of: existing) }
            if existing != directory {
                if let problem = FileSystem.directoryProblem(existing, inRoot: nil) { throw SystemError("log dir", path: directory, errno: problem) }
                if !FileSystem.isWritable(existing) { throw SystemError("log dir", path: directory) }
                return
            }
        } catch let error as SystemError {
            throw SystemError("log dir", path: directory, errno: error.errno)
        }
        try Self.checkSafe(directory, what: "log dir")
        if !FileSystem.isWritable(directory) { throw SystemError("log dir", path: directory) }
    }

    static func prepare(_ directory: String, what: String, mode: mode_t) throws {
        do {
            if try FileSystem.linkStatus(directory) == nil {
                let parent = Path.directory(of: directory)
                if try FileSystem.status(parent) == nil { try FileSystem.makeDirectories(parent, mode: 0o755) }
                try FileSystem.makeDirectory(directory, mode: mode)
            }
        } catch let error as SystemError {
            throw SystemError(what, path: directory, errno: error.errno)
        }
        try checkSafe(directory, what: what)
        if !FileSystem.isWritable(directory) { throw SystemError(what, path: directory) }
    }

    /// The log dir of `logFile`, opened and checked as at the start
    /// (`Directory.openTrusted`); created first (with its parents) when
    /// `creating` and missing. Every open of a log, rename of a rotation and
    /// re-creation goes through it: the same checks each time, and nothing
    /// looked up by its path between the check and the use.
    package static func openLogDirectory(of logFile: String, creating: Bool = false) throws -> Directory {
        let directory = Path.directory(of: logFile)
        if creating, try FileSystem.linkStatus(directory) == nil { try FileSystem.makeDirectories(directory, mode: 0o755) }
        return try Directory.openTrusted(directory, what: "log dir")
    }

    /// Opens the log file `path` for appending through its checked log dir
    /// (`openLogDirectory`), refusing the files `FileSystem.openLog` refuses.
    package static func openLog(_ path: String, creatingDirectory: Bool = false, create: Bool = true) throws -> FileDescriptor {
        let directory = try openLogDirectory(of: path, creating: creatingDirectory)
        defer { directory.close() }
        return try FileSystem.openLog(Path.fileName(of: path), in: directory, create: create)
    }

    /// Refuses a directory that others could plant files in (`Directory.openTrusted`).
    package static func checkSafe(_ directory: String, what: String) throws {
        try Directory.openTrusted(directory, what: what).close()
    }
}
