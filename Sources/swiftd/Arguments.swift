import Daemonize

/// A usage error: one line, exit code 2, and a hint at the help to read.
struct UsageError: Error {
    var message: String
    var command: String?
}

/// One option a command accepts.
struct OptionSpec {
    var long: String
    var short: Character? = nil
    /// Takes a value (`--opt value`, `--opt=value`); otherwise a flag
    /// (which also accepts `--flag=yes|no`).
    var takesValue: Bool
}

/// What a command accepts.
struct CommandSpec {
    var name: String
    /// Names of the positional arguments, for messages.
    var positionals: [String]
    var minimumPositionals: Int
    var options: [OptionSpec]
    /// Accepts `-- COMMAND [ARG...]`.
    var acceptsCommand = false

    func option(_ long: String) -> OptionSpec? { options.first { $0.long == long } }
    func option(short: Character) -> OptionSpec? { options.first { $0.short == short } }
}

/// A parsed command line.
struct ParsedArguments {
    var positionals: [String] = []
    /// (long name, value) in order; flags carry "yes" or what was given after "=".
    var options: [(String, String)] = []
    /// The words after `--`, when there was a `--`.
    var command: [String]?
    var help = false

    func value(_ long: String) -> String? { options.last { $0.0 == long }?.1 }
    func has(_ long: String) -> Bool { options.contains { $0.0 == long } }
}

enum ArgumentParser {
    /// Options every command takes.
    static let global: [OptionSpec] = [
        OptionSpec(long: "run-dir", takesValue: true),
        OptionSpec(long: "log-dir", takesValue: true),
        OptionSpec(long: "config-dir", takesValue: true),
        OptionSpec(long: "help", short: "h", takesValue: false),
    ]

    /// Parses `arguments` (after the command word) against `spec`.
    static func parse(_ arguments: [String], spec: CommandSpec) throws -> ParsedArguments {
        var parsed = ParsedArguments()
        let options = spec.options + global
        var i = 0
        func fail(_ message: String) -> UsageError { UsageError(message: message, command: spec.name) }
        while i < arguments.count {
            let word = arguments[i]
            i += 1
            if word == "--" {
                guard spec.acceptsCommand else { throw fail("\(spec.name) takes no command after --") }
                parsed.command = Array(arguments[i...])
                break
            }
            if word.hasPrefix("--") {
                var name = String(word.dropFirst(2))
                var inlineValue: String?
                // The "=" found by scalar: a value starting with a combining
                // mark would fuse with it into one Character.
                let scalars = name.unicodeScalars
                if let eq = scalars.firstIndex(of: "=") {
                    inlineValue = String(scalars[scalars.index(after: eq)...])
                    name = String(scalars[..<eq])
                }
                guard let option = options.first(where: { $0.long == name }) else {
                    let hint = Suggestion.closest(to: name, among: options.map(\.long)).map { " (did you mean '--\($0)'?)" } ?? ""
                    throw fail("unknown option '--\(name)' for \(spec.name)\(hint)")
                }
                if option.takesValue {
                    if let inlineValue {
                        parsed.options.append((name, inlineValue))
                    } else {
                        guard i < arguments.count else { throw fail("option '--\(name)' needs a value") }
                        parsed.options.append((name, arguments[i]))
                        i += 1
                    }
                } else {
                    if name == "help" { parsed.help = true; continue }
                    parsed.options.append((name, inlineValue ?? "yes"))
                }
                continue
            }
            if word.hasPrefix("-") && word.count > 1 && !isNumber(word) {
                // Short options: -f, -n 20, -n20, -fn 20.
                var letters = Array(word.dropFirst())
                while !letters.isEmpty {
                    let letter = letters.removeFirst()
                    guard let option = options.first(where: { $0.short == letter }) else {
                        throw fail("unknown option '-\(letter)' for \(spec.name)")
                    }
                    if option.long == "help" { parsed.help = true; continue }
                    if option.takesValue {
                        if !letters.isEmpty {
                            parsed.options.append((option.long, String(letters)))
                            letters = []
                        } else {
                            guard i < arguments.count else { throw fail("option '-\(letter)' needs a value") }
                            parsed.options.append((option.long, arguments[i]))
                            i += 1
                        }
                    } else {
                        parsed.options.append((option.long, "yes"))
                    }
                }
                continue
            }
            parsed.positionals.append(word)
        }
        if parsed.help { return parsed }
        if parsed.positionals.count < spec.minimumPositionals {
            throw fail("\(spec.name) needs \(spec.positionals[parsed.positionals.count])")
        }
        if parsed.positionals.count > spec.positionals.count {
            let extra = parsed.positionals[spec.positionals.count]
            let hint = spec.acceptsCommand ? " (put the command after --)" : ""
            throw fail("unexpected argument '\(extra)' for \(spec.name)\(hint)")
        }
        return parsed
    }

    static func isNumber(_ word: String) -> Bool {
        word.dropFirst().allSatisfy { $0.isNumber }
    }
}
