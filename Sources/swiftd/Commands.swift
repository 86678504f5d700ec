import Glibc
import Daemonize

/// The command line: finds the command in `Command.all`, parses its
/// arguments, runs it, prints, and returns the exit code.
enum Commands {
    /// The specs of every command, by name.
    static let specs: [String: CommandSpec] = Dictionary(uniqueKeysWithValues: Command.all.map { ($0.name, $0.spec) })

    /// Runs the command line `arguments` (without the program name).
    static func main(_ arguments: [String]) -> Int32 {
        var words = arguments
        // Global options may come before the command word.
        var leading: [String] = []
        let valued = ArgumentParser.global.filter(\.takesValue).map { "--\($0.long)" }
        while let first = words.first, first.hasPrefix("--") || first == "-q", first != "--help", first != "--version" {
            leading.append(words.removeFirst())
            if !first.contains("="), valued.contains(first), let value = words.first {
                leading.append(value)
                words.removeFirst()
            }
        }
        guard let word = words.first else {
            Standard.error(Usage.summary)
            return ExitCode.usage
        }
        switch word {
        case "--version", "-V", "version":
            Standard.print(Usage.version)
            return 0
        case "--help", "-h":
            Standard.print(Usage.summary)
            return 0
        default:
            break
        }
        guard let command = Command.named(word) else {
            let hint = Suggestion.closest(to: word, among: Command.all.map(\.name)).map { " (did you mean '\($0)'?)" } ?? ""
            return usageError(UsageError(message: "unknown command '\(word)'\(hint)", command: nil))
        }
        do {
            let parsed = try ArgumentParser.parse(leading + Array(words.dropFirst()), spec: command.spec)
            if parsed.help {
                Standard.print(command.help())
                return 0
            }
            let paths = ServicePaths(runDirectory: parsed.value("run-dir"), logDirectory: parsed.value("log-dir"),
                                     configDirectory: parsed.value("config-dir"))
            return try command.run(parsed, ServiceController(paths: paths))
        } catch let error as UsageError {
            return usageError(error)
        } catch let error as ConfigurationError where error.origin == .commandLine {
            return usageError(UsageError(message: error.message, command: word))
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

    /// Prints an outcome: output on stdout, errors on stderr after "swiftd: ";
    /// nothing at all for a success under `--quiet`.
    static func report(_ outcome: ServiceController.Outcome, _ parsed: ParsedArguments) -> Int32 {
        let (output, error) = rendered(outcome, parsed)
        if let output { Standard.print(output, terminator: "") }
        if let error { Standard.error(error, terminator: "") }
        return outcome.code
    }

    /// What `report` prints of `outcome`, for standard output and standard error.
    static func rendered(_ outcome: ServiceController.Outcome, _ parsed: ParsedArguments) -> (output: String?, error: String?) {
        // A success's error text is a warning: --quiet keeps it.
        let error = outcome.error.map { "swiftd: \($0)\n" }
        if parsed.quiet && outcome.code == ExitCode.success { return (nil, error) }
        return (outcome.output.map { $0 + "\n" }, error)
    }

    /// The command line again for one of several names: every option as
    /// `--key=value`, then the command after `--`.
    static func argumentsForEach(_ parsed: ParsedArguments) -> [String] {
        parsed.options.map { "--\($0.0)=\($0.1)" } + (parsed.command.map { ["--"] + $0 } ?? [])
    }
}
