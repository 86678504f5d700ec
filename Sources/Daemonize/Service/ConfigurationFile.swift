internal import Glibc

/// `NAME.conf`: `key = value` lines, every start option as a key of the same
/// name. `#` starts a comment at the start of a line, or after a blank (for
/// `command`: a `#` that begins a word outside quotes, as in sh). A value may
/// be wrapped in one pair of single or double quotes, taken literally (for
/// `env`, the VALUE of NAME=VALUE may be instead); `command` is split into
/// words with shell quoting, no expansion. Lines end with LF or CRLF.
package enum ConfigurationFile {
    /// The largest file read, so that a wrong path cannot make swiftd read a disk.
    static let maximumSize = 1 << 20

    /// Reads `path` (a regular file, no symlink, at most 1 MiB of text: UTF-8,
    /// or any bytes but NUL in a value, which are taken as they are)
    /// and applies its settings to `configuration`, recording in `origins`
    /// the "file:line" each key came from (for `env` and `watch`, every one).
    /// - Throws: `ConfigurationError` naming `file:line` and what is wrong: a
    ///   line that is not `key = value`, an unknown key (with a suggestion), a
    ///   bad value, a key given twice that takes one value; `InvalidFile` for
    ///   a file that cannot be trusted or read, or is not text.
    /// With `instance`, the file is a template (`NAME@.conf` for `NAME@INSTANCE`):
    /// `%i` in it stands for the instance, `%%` for `%`.
    package static func apply(_ path: String, instance: String? = nil, to configuration: inout ServiceConfiguration,
                              origins: inout [String: String]) throws {
        var bytes: [UInt8]
        do {
            // swiftd runs what a config file says: only its owner (or root) may
            // write it, and the file read is the one in the directory checked.
            let directory = try Directory.openTrusted(Path.directory(of: path), what: "config dir")
            defer { directory.close() }
            bytes = try FileSystem.read(Path.fileName(of: path), in: directory, limit: maximumSize + 1, trusted: .config)
        } catch let error as InvalidFile {
            throw InvalidFile(.config, error.path, error.problem, message: error.message)
        } catch let error as SystemError {
            throw InvalidFile(.config, path, .unreadable(error.errno), message: "\(error)")
        }
        if let instance { bytes = expand(bytes, instance: Array(instance.utf8)) }
        try apply(contents: bytes, path: path, to: &configuration, origins: &origins)
    }

    /// A template's text with `%i` replaced by `instance` and `%%` by `%`.
    static func expand(_ bytes: [UInt8], instance: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "i") || bytes[i + 1] == UInt8(ascii: "%") {
                result += bytes[i + 1] == UInt8(ascii: "i") ? instance : [UInt8(ascii: "%")]
                i += 2
            } else {
                result.append(bytes[i])
                i += 1
            }
        }
        return result
    }

    /// Applies the text of a config file (`bytes`, as read from `path`, which
    /// names it in messages) to `configuration`; see `apply(_:to:origins:)`.
    package static func apply(contents bytes: [UInt8], path: String, to configuration: inout ServiceConfiguration,
                             origins: inout [String: String]) throws {
        var firstLine: [String: Int] = [:]
        var listOrigins: [String: [String]] = [:]
        for (number, line) in try lines(of: bytes, path: path) {
            func fail(_ message: String) -> ConfigurationError {
                ConfigurationError(key: "", message: "\(path):\(number): \(message)", origin: .file(path))
            }
            let trimmed = line.trimmingSpaces
            if trimmed.isEmpty || trimmed.begins(with: "#") { continue }
            guard let (rawKey, rawValue) = trimmed.splitAtFirst("=") else {
                let hint = ServiceConfiguration.key(trimmed).map { $0.kind == .flag ? " (write '\($0.name) = yes')" : " (write '\($0.name) = \($0.placeholder)')" } ?? ""
                throw fail("expected 'key = value', got '\(String(trimmed.prefix(60)))'\(hint)")
            }
            let key = rawKey.trimmingSpaces
            guard !key.isEmpty else { throw fail("missing key before '='") }
            guard let spec = ServiceConfiguration.key(key) else {
                let hint = ServiceConfiguration.suggestion(for: key).map { " (did you mean '\($0)'?)" } ?? ""
                throw fail("unknown key '\(key)'\(hint)")
            }
            let rest = rawValue.trimmingSpaces
            let value: String
            if key == "command" {
                value = CommandWords.uncommented(rest)
            } else {
                do {
                    value = key == "env" ? try environmentValue(rest) : try plainValue(rest)
                } catch let error as ConfigurationError {
                    throw fail("bad value for \(key): \(error.message)")
                }
            }
            // An empty flag would read as "yes" (as a bare --flag does).
            if spec.kind == .flag && value.isEmpty { throw fail("bad value for \(key): '' (expected yes or no)") }
            if spec.kind != .list {
                if let first = firstLine[key] { throw fail("\(key) is already set at line \(first)") }
                firstLine[key] = number
            }
            if key == "log", value != "none", value != "syslog", !value.hasPrefix("syslog:"), !value.isAbsolutePath {
                throw fail("bad value for log: '\(value)' (expected an absolute path, none or syslog[:FACILITY])")
            }
            if key == "pidfile", value != "none", !value.isAbsolutePath {
                throw fail("bad value for pidfile: '\(value)' (expected an absolute path or none)")
            }
            do {
                try configuration.apply(key, value)
            } catch let error as ConfigurationError {
                throw fail(error.message)
            }
            let here = "\(path):\(number)"
            if spec.kind == .list {
                // Joined once at the end: appending to one string per line
                // would cost time growing with the square of the lines.
                listOrigins[key, default: origins[key].map { [$0] } ?? []].append(here)
            } else {
                origins[key] = here
            }
        }
        for (key, places) in listOrigins { origins[key] = places.joined(separator: ", ") }
    }

    /// The numbered lines of a file's text (LF or CRLF line ends, a leading
    /// UTF-8 byte order mark ignored). A value is bytes (a path, an argument,
    /// an environment value), UTF-8 or not: each line is held as
    /// `String(platformBytes:)` holds them.
    static func lines(of contents: [UInt8], path: String) throws -> [(Int, String)] {
        var bytes = contents
        if bytes.count > maximumSize { throw InvalidFile(.config, path, .malformed, message: "\(path): longer than 1 MiB (not a config file)") }
        if bytes.contains(0) { throw InvalidFile(.config, path, .malformed, message: "\(path): holds NUL bytes (not a config file)") }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var result: [(Int, String)] = []
        for (index, var raw) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if raw.last == UInt8(ascii: "\r") { raw = raw.dropLast() }
            result.append((index + 1, String(platformBytes: raw)))
        }
        return result
    }

    /// An `env` value: the whole quoted (`"NAME=VALUE"`), or NAME= followed by
    /// a value read as any other (`GREETING="hello world"` sets
    /// `hello world`: quoted, a `#` or leading blanks stay in it).
    static func environmentValue(_ text: String) throws -> String {
        if text.begins(with: "\"") || text.begins(with: "'") { return try plainValue(text) }
        guard let (name, value) = text.splitAtFirst("=") else { return try plainValue(text) }
        // A "#" right after the "=" begins the value (COLOUR=#fff), not a comment.
        return name + "=" + (try plainValue(value, after: "="))
    }

    /// A value other than `command`: the text up to a `#` that follows a
    /// blank (`before` is what precedes the text), or one pair of quotes (nothing but a comment after them) whose
    /// content is taken literally. Read scalar by scalar, as `command` is: a
    /// combining mark after a `#` or a quote does not hide it.
    static func plainValue(_ text: String, after before: Unicode.Scalar = " ") throws -> String {
        let scalars = text.unicodeScalars
        if let quote = scalars.first, quote == "\"" || quote == "'" {
            let body = scalars.dropFirst()
            guard let close = body.firstIndex(of: quote) else {
                throw ConfigurationError(key: "", message: "unterminated \(quote) quote")
            }
            let after = String(String.UnicodeScalarView(body[body.index(after: close)...])).trimmingSpaces
            guard after.isEmpty || after.begins(with: "#") else {
                throw ConfigurationError(key: "", message: "'\(String(after.prefix(30)))' after the closing \(quote) quote")
            }
            return String(String.UnicodeScalarView(body[..<close]))
        }
        var previous = before
        for index in scalars.indices {
            if scalars[index] == "#" && (previous == " " || previous == "\t") {
                return String(String.UnicodeScalarView(scalars[..<index])).trimmingSpaces
            }
            previous = scalars[index]
        }
        return text
    }
}
