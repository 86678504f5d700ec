internal import Glibc

/// Builds the configuration `start`, `run`, `restart` and `check` use, from
/// a command given after `--`, `NAME.conf`, an executable NAME in PATH, or
/// the record of the last start; command-line options go on top.
package enum ConfigurationLoader {
    /// The configuration and, for each key set, where its value came from.
    package struct Loaded: Sendable {
        package var configuration: ServiceConfiguration
        /// Key -> "file:line", "command line", "PATH" or "recorded state"
        /// (absent: the default). For `env` and `watch`, every origin, joined
        /// with ", ".
        package var origins: [String: String]
    }

    /// - Parameters:
    ///   - command: the words after `--`, or nil when none were given.
    ///   - options: (key, value) pairs from the command line, in order.
    /// - Throws: `ConfigurationError` from the command line (a bad option
    ///   value) or from a config file (bad, or no command anywhere), or the
    ///   `InvalidFile` of a config file that cannot be used.
    package static func load(_ name: ServiceName, paths: ServicePaths, command: [String]?, options: [(String, String)]) throws -> Loaded {
        var configuration = ServiceConfiguration(name: name)
        var origins: [String: String] = [:]
        if let command, !command.isEmpty {
            configuration.command = command
            configuration.source = .arguments
            origins["command"] = "command line"
        } else {
            let file = paths.configFile(name)
            let template = paths.template(for: name)
            if FileSystem.exists(file) {
                try applyFile(file, instance: nil, to: &configuration, origins: &origins)
            } else if let template, FileSystem.exists(template.file) {
                try applyFile(template.file, instance: template.instance, to: &configuration, origins: &origins)
            } else if let recorded = try? ServiceState.read(paths.stateFile(name), name: name) {
                // Stopped, and configured nowhere: the command it last ran with, as restart does.
                return try reload(recorded, paths: paths, options: options)
            } else if (try? ExecutableLookup.resolve(name.rawValue, searchPath: Environment.value("PATH"))) != nil {
                configuration.command = [name.rawValue]
                configuration.source = .searchPath
                origins["command"] = "PATH"
            } else {
                throw ConfigurationError(key: "command", message: "\(name) is not configured: no \(file), no '\(name)' in PATH, and no command after --",
                                         origin: .file(file))
            }
        }
        try applyOptions(options, to: &configuration, origins: &origins)
        // A relative path typed on the command line means the caller's directory
        // (not under --shell: then it is a script, which /bin/sh runs).
        if command?.isEmpty == false, !configuration.shell, let first = configuration.command.first, first.contains(scalar: "/"), !first.isAbsolutePath {
            configuration.command[0] = Path.absolute(first)
        }
        return Loaded(configuration: configuration, origins: origins)
    }

    /// Applies a config file (a template, with `%i` replaced by `instance`)
    /// and records it as the command's source.
    private static func applyFile(_ file: String, instance: String?, to configuration: inout ServiceConfiguration,
                                  origins: inout [String: String]) throws {
        try ConfigurationFile.apply(file, instance: instance, to: &configuration, origins: &origins)
        configuration.source = .configFile(file)
        if configuration.command.isEmpty {
            throw ConfigurationError(key: "command", message: "\(file): no command (add 'command = ...')", origin: .file(file))
        }
    }

    /// For `restart`: the recorded configuration (re-reading its config file
    /// when it came from one), with `options` on top.
    package static func reload(_ recorded: ServiceState, paths: ServicePaths, options: [(String, String)]) throws -> Loaded {
        var loaded: Loaded
        if case .configFile(let file) = recorded.configuration.source {
            var configuration = ServiceConfiguration(name: recorded.name)
            var origins: [String: String] = [:]
            try applyFile(file, instance: paths.instance(of: recorded.name, in: file), to: &configuration, origins: &origins)
            loaded = Loaded(configuration: configuration, origins: origins)
            // The options given at the last start still apply, before the new ones.
            let earlier = recorded.configuration.commandLineOptions.compactMap { option -> (String, String)? in
                guard let (key, value) = option.splitAtFirst("=") else { return nil }
                return (key, value)
            }
            try applyOptions(earlier, to: &loaded.configuration, origins: &loaded.origins)
        } else {
            loaded = Loaded(configuration: recorded.configuration, origins: ["command": "recorded state"])
        }
        try applyOptions(options, to: &loaded.configuration, origins: &loaded.origins)
        return loaded
    }

    static func applyOptions(_ options: [(String, String)], to configuration: inout ServiceConfiguration, origins: inout [String: String]) throws {
        for (key, given) in options {
            var value = given
            // An env file named on the command line is taken against the current directory.
            if key == "env-file" {
                let optional = value.begins(with: "-")
                let path = optional ? String(value.unicodeScalars.dropFirst()) : value
                if !path.isEmpty { value = (optional ? "-" : "") + Path.absolute(path) }
            }
            do {
                try configuration.apply(key, value)
            } catch let error as ConfigurationError {
                throw ConfigurationError(key: key, message: error.optionMessage, origin: .commandLine)
            }
            // A log file (or a daemon's pidfile) named on the command line is taken
            // against the current directory now, so that `logs` finds it from anywhere.
            if key == "log", case .file(let path) = configuration.log {
                configuration.log = .file(Path.absolute(path))
            }
            if key == "pidfile", let path = configuration.daemonPIDFile { configuration.daemonPIDFile = Path.absolute(path) }
            configuration.commandLineOptions.append("\(key)=\(value)")
            if ServiceConfiguration.key(key)?.kind == .list, let earlier = origins[key] {
                origins[key] = earlier + ", command line"
            } else {
                origins[key] = "command line"
            }
        }
        // Watch paths, and a relative command path from a config file, are
        // taken against the service's working directory.
        configuration.watch = configuration.watch.map { $0.isAbsolutePath ? $0 : Path.join(configuration.chdir, $0) }
        if configuration.source.isConfigFile, let first = configuration.command.first, first.contains(scalar: "/"), !first.isAbsolutePath,
           !configuration.shell {
            configuration.command[0] = Path.join(configuration.chdir, first)
        }
    }
}
