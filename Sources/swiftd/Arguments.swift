import Glibc
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
    /// The last positional may be given several times (`stop a b c`).
    var repeatsLast = false

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
    /// `-q`/`--quiet`: nothing printed on success.
    var quiet: Bool { has("quiet") }
}

enum ArgumentParser {
    /// Options every command takes.
    static let global: [OptionSpec] = [
        OptionSpec(long: "run-dir", takesValue: true),
        OptionSpec(long: "log-dir", takesValue: true),
        OptionSpec(long: "config-dir", takesValue: true),
        OptionSpec(long: "quiet", short: "q", takesValue: false),
        OptionSpec(long: "help", short: "h", takesValue: false),
    ]

    /// Parses `arguments` (after the command word) against `spec`.
    static func parse(_ arguments: [String], spec: CommandSpec) throws -> ParsedArguments {
        var reader = Reader(words: arguments, spec: spec, options: spec.options + global)
        while let word = reader.next() {
            if word == "--" {
                guard spec.acceptsCommand else { throw reader.fail("\(spec.name) takes no command after --") }
                reader.parsed.command = reader.rest()
                break
            }
            if word.hasPrefix("--") {
                try reader.long(String(word.dropFirst(2)))
            } else if word.hasPrefix("-") && word.count > 1 && !isNumber(word) {
                try reader.short(Array(word.dropFirst()))
            } else {
                reader.parsed.positionals.append(word)
            }
        }
        return try reader.finish()
    }

    /// The words being read and what they said so far.
    private struct Reader {
        let words: [String]
        let spec: CommandSpec
        let options: [OptionSpec]
        var index = 0
        var parsed = ParsedArguments()

        init(words: [String], spec: CommandSpec, options: [OptionSpec]) {
            self.words = words
            self.spec = spec
            self.options = options
        }

        mutating func next() -> String? {
            guard index < words.count else { return nil }
            index += 1
            return words[index - 1]
        }

        mutating func rest() -> [String] {
            defer { index = words.count }
            return Array(words[index...])
        }

        func fail(_ message: String) -> UsageError { UsageError(message: message, command: spec.name) }

        /// `--name`, `--name value`, `--name=value`.
        mutating func long(_ text: String) throws {
            var name = text
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
            if !option.takesValue {
                if name == "help" { parsed.help = true } else { parsed.options.append((name, inlineValue ?? "yes")) }
            } else if let inlineValue {
                parsed.options.append((name, inlineValue))
            } else {
                guard let value = next() else { throw fail("option '--\(name)' needs a value") }
                parsed.options.append((name, value))
            }
        }

        /// Short options: -f, -n 20, -n20, -fn 20.
        mutating func short(_ letters: [Character]) throws {
            var letters = letters
            while !letters.isEmpty {
                let letter = letters.removeFirst()
                guard let option = options.first(where: { $0.short == letter }) else {
                    throw fail("unknown option '-\(letter)' for \(spec.name)")
                }
                if option.long == "help" {
                    parsed.help = true
                } else if !option.takesValue {
                    parsed.options.append((option.long, "yes"))
                } else if !letters.isEmpty {
                    parsed.options.append((option.long, String(letters)))
                    letters = []
                } else {
                    guard let value = next() else { throw fail("option '-\(letter)' needs a value") }
                    parsed.options.append((option.long, value))
                }
            }
        }

        /// The positionals checked against the spec (unless help was asked for).
        func finish() throws -> ParsedArguments {
            if parsed.help { return parsed }
            if parsed.positionals.count < spec.minimumPositionals {
                throw fail("\(spec.name) needs \(spec.positionals[parsed.positionals.count])")
            }
            if parsed.positionals.count > spec.positionals.count && !spec.repeatsLast {
                let extra = parsed.positionals[spec.positionals.count]
                let hint = spec.acceptsCommand ? " (put the command after --)" : ""
                throw fail("unexpected argument '\(extra)' for \(spec.name)\(hint)")
            }
            return parsed
        }
    }

    static func isNumber(_ word: String) -> Bool {
        word.dropFirst().allSatisfy { $0.isNumber }
    }
}
