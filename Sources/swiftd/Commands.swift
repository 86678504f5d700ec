import Daemonize

/// The commands: parse, call the library, print, return the exit code.
enum Commands {
    static let startOptions: [OptionSpec] = ServiceConfiguration.keys.filter { $0.name != "command" }.map {
        OptionSpec(long: $0.name, takesValue: $0.kind != .flag)
    }

    static let specs: [String: CommandSpec] = [
        "start": CommandSpec(name: "start", positionals: ["NAME"], minimumPositionals: 1, options: startOptions, acceptsCommand: true),
        "run": CommandSpec(name: "run", positionals: ["NAME"], minimumPositionals: 1, options: startOptions, acceptsCommand: true),
        "restart": CommandSpec(name: "restart", positionals: ["NAME"], minimumPositionals: 1, options: startOptions),
        "check": CommandSpec(name: "check", positionals: ["NAME"], minimumPositionals: 1, options: startOptions),
        "stop": CommandSpec(name: "stop", positionals: ["NAME"], minimumPositionals: 1, options: [
            OptionSpec(long: "timeout", takesValue: true), OptionSpec(long: "signal", takesValue: true)]),
        "status": CommandSpec(name: "status", positionals: ["NAME"], minimumPositionals: 0, options: [OptionSpec(long: "json", takesValue: false)]),
        "list": CommandSpec(name: "list", positionals: [], minimumPositionals: 0, options: [OptionSpec(long: "json", takesValue: false)]),
        "reload": CommandSpec(name: "reload", positionals: ["NAME"], minimumPositionals: 1, options: []),
        "signal": CommandSpec(name: "signal", positionals: ["NAME", "SIGNAL"], minimumPositionals: 2, options: []),
        "logs": CommandSpec(name: "logs", positionals: ["NAME"], minimumPositionals: 1, options: [
            OptionSpec(long: "lines", short: "n", takesValue: true), OptionSpec(long: "follow", short: "f", takesValue: false)]),
        "help": CommandSpec(name: "help", positionals: ["COMMAND"], minimumPositionals: 0, options: []),
    ]

    /// Runs the command line `arguments` (without the program name).
    static func main(_ arguments: [String]) -> Int32 {
        var words = arguments
        // Global options may come before the command word.
        var leading: [String] = []
        while let first = words.first, first.hasPrefix("--"), first != "--help", first != "--version" {
            leading.append(words.removeFirst())
            if !first.contains("="), ["--run-dir", "--log-dir", "--config-dir"].contains(first), let value = words.first {
                leading.append(value)
                words.removeFirst()
            }
        }
        guard let command = words.first else {
            Standard.error(Usage.summary)
            return ExitCode.usage
        }
        switch command {
        case "--version", "-V", "version":
            print(Usage.version)
            return 0
        case "--help", "-h":
            print(Usage.summary)
            return 0
        default:
            break
        }
        guard let spec = specs[command] else {
            let hint = Suggestion.closest(to: command, among: Array(specs.keys)).map { " (did you mean '\($0)'?)" } ?? ""
            return usageError(UsageError(message: "unknown command '\(command)'\(hint)", command: nil))
        }
        do {
            let parsed = try ArgumentParser.parse(leading + Array(words.dropFirst()), spec: spec)
            if parsed.help {
                print(Usage.help(for: command) ?? Usage.summary)
                return 0
            }
            let paths = ServicePaths(runDirectory: parsed.value("run-dir"), logDirectory: parsed.value("log-dir"),
                                     configDirectory: parsed.value("config-dir"))
            let controller = ServiceController(paths: paths)
            return try dispatch(command, parsed, controller)
        } catch let error as UsageError {
            return usageError(error)
        } catch let error as ConfigurationError where error.origin == .commandLine {
            return usageError(UsageError(message: error.message, command: command))
        } catch {
            Standard.error("swiftd: \(error)")
            return ExitCode.of(error)
        }
    }

    static func usageError(_ error: UsageError) -> Int32 {
        Standard.error("swiftd: \(error.message)")
        Standard.error("Try 'swiftd help\(error.command.map { " \($0)" } ?? "")'.")
        return ExitCode.usage
    }

    static func name(_ text: String, for command: String) throws -> ServiceName {
        guard let name = ServiceName(text) else {
            throw UsageError(message: "invalid service name '\(text)' (1 to 64 letters, digits, '.', '_', '@', '-', starting with a letter or digit)",
                             command: command)
        }
        return name
    }

    /// The start options among `parsed.options` (the global ones left out).
    static func startSettings(_ parsed: ParsedArguments) -> [(String, String)] {
        parsed.options.filter { option in !ArgumentParser.global.contains { $0.long == option.0 } }
    }

    static func dispatch(_ command: String, _ parsed: ParsedArguments, _ controller: ServiceController) throws -> Int32 {
        switch command {
        case "help":
            guard let topic = parsed.positionals.first else {
                print(Usage.summary)
                return 0
            }
            guard let text = Usage.help(for: topic) else { throw UsageError(message: "no help for '\(topic)'", command: nil) }
            print(text)
            return 0
        case "start", "run", "check":
            let name = try name(parsed.positionals[0], for: command)
            if let words = parsed.command, words.isEmpty { throw UsageError(message: "no command after --", command: command) }
            let loaded = try ConfigurationLoader.load(name, paths: controller.paths, command: parsed.command, options: startSettings(parsed))
            if command == "run" && !loaded.configuration.supervise {
                throw UsageError(message: "run always supervises: --no-supervise is for start", command: command)
            }
            switch command {
            case "start": return report(controller.start(loaded.configuration))
            case "run": return controller.run(loaded.configuration)
            default: return check(loaded, paths: controller.paths)
            }
        case "restart":
            let name = try name(parsed.positionals[0], for: command)
            let loaded: ConfigurationLoader.Loaded
            if let recorded = try ServiceState.read(controller.paths.stateFile(name), name: name) {
                loaded = try ConfigurationLoader.reload(recorded, paths: controller.paths, options: startSettings(parsed))
            } else {
                loaded = try ConfigurationLoader.load(name, paths: controller.paths, command: nil, options: startSettings(parsed))
            }
            return report(controller.restart(loaded.configuration))
        case "stop":
            let name = try name(parsed.positionals[0], for: command)
            var signal: Signal?
            var timeout: Interval?
            if let text = parsed.value("signal") {
                guard let s = Signal(parsing: text) else { throw UsageError(message: "bad signal '\(text)' (expected TERM, SIGTERM or 15)", command: command) }
                signal = s
            }
            if let text = parsed.value("timeout") {
                guard let t = Interval(parsing: text) else { throw UsageError(message: "bad duration '\(text)' (expected 250ms, 10s, 5m, 1h)", command: command) }
                timeout = t
            }
            return report(controller.stop(name, signal: signal, timeout: timeout))
        case "status":
            if let text = parsed.positionals.first {
                let status = controller.status(try name(text, for: command))
                print(parsed.has("json") ? status.json.description : status.line)
                return status.exitCode
            }
            let statuses = controller.statuses()
            if parsed.has("json") {
                print(JSON.array(statuses.map(\.json)).description)
            } else {
                for status in statuses { print(status.line) }
            }
            return statuses.first { $0.exitCode != 0 }?.exitCode ?? 0
        case "list":
            let statuses = controller.statuses()
            if parsed.has("json") {
                print(JSON.array(statuses.map(\.json)).description)
            } else {
                printTable(statuses)
            }
            return 0
        case "reload":
            return report(controller.reload(try name(parsed.positionals[0], for: command)))
        case "signal":
            let name = try name(parsed.positionals[0], for: command)
            guard let signal = Signal(parsing: parsed.positionals[1]) else {
                throw UsageError(message: "bad signal '\(parsed.positionals[1])' (expected TERM, SIGTERM or 15)", command: command)
            }
            return report(controller.signal(name, signal))
        case "logs":
            return try logs(try name(parsed.positionals[0], for: command), parsed, controller)
        default:
            throw UsageError(message: "unknown command '\(command)'", command: nil)
        }
    }

    /// Prints an outcome: output on stdout, errors on stderr after "swiftd: ".
    static func report(_ outcome: ServiceController.Outcome) -> Int32 {
        if let output = outcome.output { print(output) }
        if let error = outcome.error { Standard.error("swiftd: \(error)") }
        return outcome.code
    }

    static func printTable(_ statuses: [ServiceStatus]) {
        var rows = [["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "COMMAND"]]
        for s in statuses {
            rows.append([s.name.rawValue, s.state.rawValue, s.pid.map(String.init) ?? "-", s.uptime?.approximate ?? "-",
                         "\(s.restarts)", s.recorded.map { Escaped.line(CommandWords.quote($0.configuration.argv)) } ?? "-"])
        }
        var widths = [Int](repeating: 0, count: 6)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        for row in rows {
            var line = ""
            for (i, cell) in row.enumerated() {
                line += i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 2)
            }
            print(line)
        }
    }

    static func check(_ loaded: ConfigurationLoader.Loaded, paths: ServicePaths) -> Int32 {
        let c = loaded.configuration
        do {
            try c.validate()
            _ = try c.credentials()
            _ = try c.resolvedExecutable()
        } catch let error as LaunchError {
            Standard.error("swiftd: \(c.name): \(error)")
            return ExitCode.notConfigured
        } catch {
            // Every other error describes itself by its message.
            Standard.error("swiftd: \(error)")
            return ExitCode.notConfigured
        }
        print("# \(c.name): \(c.source)")
        for key in ServiceConfiguration.keys {
            let origin = loaded.origins[key.name] ?? "default"
            // The log as the file it resolves to, not "default".
            let value = key.name == "log" ? c.logFile(in: paths) ?? "none" : c.value(of: key.name)
            print("\(key.name) = \(value)  # \(origin)")
        }
        return 0
    }

    static func logs(_ name: ServiceName, _ parsed: ParsedArguments, _ controller: ServiceController) throws -> Int32 {
        var count = 10
        if let text = parsed.value("lines") {
            guard let n = Int(text), n >= 0 else { throw UsageError(message: "bad line count '\(text)'", command: "logs") }
            count = n
        }
        guard let path = controller.logFile(name) else {
            Standard.error("swiftd: \(name) logs nowhere (log = none)")
            return ExitCode.failure
        }
        do {
            // What the service printed reaches the terminal with its control characters escaped.
            let tail = try LogReader.lastLines(path, count: count)
            try? FileDescriptor.standardOutput.writeAll(Escaped.log(tail).text)
            if parsed.has("follow") {
                let size = (try? FileSystem.status(path)).flatMap { $0 }.map { off_t($0.st_size) } ?? 0
                var rest: [UInt8] = []
                try LogReader.follow(path, from: size) { chunk in
                    let escaped = Escaped.log(rest + chunk, final: false)
                    rest = escaped.rest
                    try? FileDescriptor.standardOutput.writeAll(escaped.text)
                }
            }
        } catch let error as SystemError {
            Standard.error("swiftd: \(name): no log: \(error)")
            return ExitCode.failure
        }
        return 0
    }
}
