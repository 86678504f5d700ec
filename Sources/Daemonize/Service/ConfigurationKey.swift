internal import Glibc

/// A start option and `NAME.conf` key, defined once: its name (the option
/// without "--"), how it takes its value, what it means, how a value is read
/// into a configuration and how a configuration's value is written back.
/// Its default is what `ServiceConfiguration(name:)` holds, written the same
/// way: never typed twice.
package struct ConfigurationKey: Sendable {
    package enum Kind: Hashable, Sendable {
        /// Takes one value; a later setting replaces an earlier one.
        case value
        /// Takes one value each time; settings accumulate.
        case list
        /// On the command line, a bare `--name` (or `--name=yes|no`); in a file, `name = yes|no`.
        case flag
    }

    /// The key, and the option without "--".
    package let name: String
    package let kind: Kind
    /// What the value looks like in help text ("DIR", "DURATION").
    package let placeholder: String
    /// One line for help text.
    package let summary: String
    /// Shown for a key that holds nothing ("unchanged": swiftd's own is kept).
    let unsetText: String
    /// Reads one value into a configuration (a list key appends).
    let read: @Sendable (inout ServiceConfiguration, String) throws -> Void
    /// The configuration's value as `read` reads it back: one string per
    /// element of a list, none when the key holds nothing.
    let write: @Sendable (ServiceConfiguration) -> [String]
    /// What a value given by a person (an option, a config file) must also
    /// be on this system (a directory that exists...), checked once it is
    /// read; not when a record is read back, whatever became of the system since.
    let check: (@Sendable (ServiceConfiguration) throws -> Void)?

    init(_ name: String, _ kind: Kind, _ placeholder: String, _ summary: String, unset: String = "",
         read: @escaping @Sendable (inout ServiceConfiguration, String) throws -> Void,
         write: @escaping @Sendable (ServiceConfiguration) -> [String],
         check: (@Sendable (ServiceConfiguration) throws -> Void)? = nil) {
        self.name = name
        self.kind = kind
        self.placeholder = placeholder
        self.summary = summary
        unsetText = unset
        self.read = read
        self.write = write
        self.check = check
    }

    /// The configuration's value as text for people (`check`): list elements
    /// quoted and joined, `unsetText` when it holds nothing.
    package func text(of configuration: ServiceConfiguration) -> String {
        let values = write(configuration)
        if values.isEmpty { return unsetText }
        return kind == .list ? values.map(CommandWords.quote).joined(separator: " ") : values.joined(separator: " ")
    }

    /// The default, as text: what a new configuration holds.
    package var defaultValue: String { text(of: ServiceConfiguration(name: ServiceName("NAME")!)) }

    /// The reason a value is refused, worded for a file or a command line.
    static func bad(_ key: String, _ value: String, _ reason: String) -> ConfigurationError {
        .badValue(key, value, reason)
    }
}

/// A bad setting: an unknown key (with a suggestion), a bad value, a
/// missing command; and where it came from, which decides the exit code
/// (2 for the command line, 6 for a config file).
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where a setting came from.
    package enum Origin: Hashable, Sendable {
        case commandLine
        /// A config file (or its absence).
        case file(String)
    }

    /// The key (the option without its dashes) the error is about.
    public var key: String
    /// The whole line.
    public var message: String
    /// Nil until a reader of options or files says which it was.
    package var origin: Origin?
    /// For a bad value: the value and what was expected, to word the
    /// message for a file ("bad value for key") or a command line ("for --key").
    package var badValue: (value: String, reason: String)?

    package init(key: String, message: String, origin: Origin? = nil) {
        self.key = key
        self.message = message
        self.origin = origin
    }

    static func badValue(_ key: String, _ value: String, _ reason: String) -> ConfigurationError {
        var error = ConfigurationError(key: key, message: "bad value for \(key): '\(value)' (\(reason))")
        error.badValue = (value, reason)
        return error
    }

    /// The message naming the key as the option `--key`.
    package var optionMessage: String {
        guard let badValue else { return message }
        return "bad value for --\(key): '\(badValue.value)' (\(badValue.reason))"
    }

    /// The whole line, as `message`.
    public var description: String { message }

    /// The same key and message.
    public static func == (a: ConfigurationError, b: ConfigurationError) -> Bool { a.key == b.key && a.message == b.message }
    /// Hashes the key and the message.
    public func hash(into hasher: inout Hasher) { hasher.combine(key); hasher.combine(message) }
}
