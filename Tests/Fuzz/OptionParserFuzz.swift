// Fuzzes swiftd's command line: NUL-separated words, the first one the
// command. Each is parsed with its command's spec, and start options are
// applied as `ConfigurationLoader` applies them; nothing is started and no
// file is read or written.
import Glibc
@testable import Daemonize

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOptionParser(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let words = inputWords(start, count)
    let command = words[0]
    guard let spec = Commands.specs[command] else {
        _ = Suggestion.closest(to: command, among: Array(Commands.specs.keys))
        return 0
    }
    let parsed: ParsedArguments
    do {
        parsed = try ArgumentParser.parse(Array(words.dropFirst()), spec: spec)
    } catch let error as UsageError {
        require(error.command == spec.name, "usage error for '\(error.command ?? "nil")' from \(spec.name)")
        return 0
    } catch {
        require(false, "ArgumentParser threw \(error), not a UsageError")
        return 0
    }
    // start, stop, restart and status take several names: their last positional repeats.
    require(parsed.positionals.count <= spec.positionals.count || spec.repeatsLast || parsed.help, "\(parsed.positionals) passed for \(spec.name)")
    require(parsed.command == nil || spec.acceptsCommand, "\(spec.name) took a command after --")
    for (key, _) in parsed.options {
        require(spec.option(key) != nil || ArgumentParser.global.contains { $0.long == key }, "option '\(key)' is not one of \(spec.name)'s")
    }
    if parsed.help {
        _ = Command.named(command)?.help()
        return 0
    }
    // Every option spelled --name=value (flags and short options too) parses
    // to the same result: both spellings are documented as equivalent.
    let spelled = parsed.options.map { "--\($0.0)=\($0.1)" } + parsed.positionals + (parsed.command.map { ["--"] + $0 } ?? [])
    do {
        let again = try ArgumentParser.parse(spelled, spec: spec)
        require(again.options.map { "\($0.0)=\($0.1)" } == parsed.options.map { "\($0.0)=\($0.1)" }
                    && again.positionals == parsed.positionals && again.command == parsed.command && !again.help,
                "\(spelled) parses differently from the words they came from")
    } catch {
        require(false, "\(spelled), spelled from what parsed, fails: \(error)")
    }
    switch command {
    case "start", "run", "restart", "check":
        guard let name = try? Commands.name(parsed.positionals[0], for: command) else { return 0 }
        var configuration = ServiceConfiguration(name: name)
        var origins: [String: String] = [:]
        if let words = parsed.command {
            guard !words.isEmpty else { return 0 }
            configuration.command = words
            if words[0].contains("/") && !words[0].hasPrefix("/") { configuration.command[0] = Path.absolute(words[0]) }
        }
        do {
            try ConfigurationLoader.applyOptions(Commands.startSettings(parsed), to: &configuration, origins: &origins)
        } catch let error as ConfigurationError {
            require(error.origin == .commandLine && ExitCode.of(error) == ExitCode.usage, "a bad option gave exit code \(ExitCode.of(error))")
            return 0
        } catch {
            require(false, "applyOptions threw \(error), not a ConfigurationError")
            return 0
        }
        for key in ServiceConfiguration.keys { _ = configuration.value(of: key.name) }
        _ = try? configuration.validate()
        if !configuration.command.isEmpty { requireStateRoundTrip(configuration) }
    case "stop":
        _ = parsed.value("signal").map(ProcessSignal.init(parsing:))
        _ = parsed.value("timeout").map(Interval.init(parsing:))
        _ = try? Commands.name(parsed.positionals[0], for: command)
    case "signal":
        _ = ProcessSignal(parsing: parsed.positionals[1])
        _ = try? Commands.name(parsed.positionals[0], for: command)
    case "logs":
        _ = parsed.value("lines").map { Int($0) }
        _ = try? Commands.name(parsed.positionals[0], for: command)
    case "help":
        _ = parsed.positionals.first.flatMap(Command.named)?.help()
    default:
        _ = parsed.positionals.first.map { try? Commands.name($0, for: command) }
    }
    return 0
}
