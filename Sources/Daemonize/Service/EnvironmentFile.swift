internal import Glibc

/// An environment file (`env-file`), read with the rules of systemd's
/// `EnvironmentFile=`, so that one file serves a systemd unit, swiftd and an
/// init script that sources it (Debian's /etc/default/NAME):
///
/// - `NAME=VALUE` lines; blanks around NAME and the `=`, and at the ends of
///   the value, are dropped; an `export ` before NAME is allowed (as sh reads it).
/// - An empty line, or one whose first non-blank character is `#` or `;`, is a comment.
/// - A value in single quotes is taken as it is (it may span lines); in
///   double quotes, `\"`, `\\`, `\$` and `` \` `` stand for the character and
///   a backslash before a newline joins the lines; outside quotes, a
///   backslash keeps the next character and one at the end of a line joins
///   it to the next. Quotes after the first character of a value are kept.
/// - Anything else (a line without `=`, a NAME that is not a variable name, a
///   quote never closed) is an error naming the line: systemd would skip it.
package enum EnvironmentFile {
    /// A line that is not `NAME=VALUE`.
    package struct Malformed: Error, Equatable {
        package var line: Int
        package var reason: String
    }

    /// Reads `path` (a regular file, no symlink, at most 1 MiB, owned by this
    /// user or root and writable by no one else: it is read by root, and what
    /// it says, `LD_PRELOAD` for one, runs in the service) into "NAME=VALUE" entries.
    /// - Throws: `SystemError` (missing, unreadable), `InvalidFile` (not to be
    ///   trusted), `Malformed`.
    package static func read(_ path: String) throws -> [String] {
        // The file read is the one in the directory checked.
        let directory = try Directory.openTrusted(Path.directory(of: path), what: "env file directory")
        defer { directory.close() }
        return try parse(try FileSystem.read(Path.fileName(of: path), in: directory, limit: ConfigurationFile.maximumSize + 1, trusted: .other))
    }

    /// The "NAME=VALUE" entries of a file's text, in order.
    package static func parse(_ contents: [UInt8]) throws(Malformed) -> [String] {
        if contents.count > ConfigurationFile.maximumSize { throw Malformed(line: 1, reason: "longer than 1 MiB (not an environment file)") }
        if let nul = contents.firstIndex(of: 0) { throw Malformed(line: lineNumber(contents, nul), reason: "holds a NUL byte") }
        var reader = Reader(bytes: contents.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(contents.dropFirst(3)) : contents)
        var entries: [String] = []
        while let entry = try reader.next() { entries.append(entry) }
        return entries
    }

    static func lineNumber(_ bytes: [UInt8], _ index: Int) -> Int { bytes[..<index].filter { $0 == 10 }.count + 1 }

    /// Reads one assignment after another.
    struct Reader {
        let bytes: [UInt8]
        var index = 0
        var line = 1

        init(bytes: [UInt8]) { self.bytes = bytes }

        static func isBlank(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 13 }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func advance() {
            if bytes[index] == 10 { line += 1 }
            index += 1
        }

        /// The next "NAME=VALUE", nil at the end.
        mutating func next() throws(Malformed) -> String? {
            while let b = current {
                if Reader.isBlank(b) || b == 10 { advance(); continue }
                if b == UInt8(ascii: "#") || b == UInt8(ascii: ";") {
                    while let c = current, c != 10 { advance() }
                    continue
                }
                return try assignment()
            }
            return nil
        }

        private mutating func assignment() throws(Malformed) -> String {
            let start = index
            let first = line
            while let b = current, b != UInt8(ascii: "="), b != 10 { advance() }
            let head = String(platformBytes: bytes[start..<index]).trimmingSpaces
            guard current == UInt8(ascii: "=") else {
                throw Malformed(line: first, reason: "expected NAME=VALUE, got '\(Escaped.line(String(head.prefix(60))))'")
            }
            advance()
            var name = head
            if name.hasPrefix("export "), name.count > 7 { name = String(name.dropFirst(7)).trimmingSpaces }
            guard EnvironmentFile.isName(name) else {
                throw Malformed(line: first, reason: "'\(Escaped.line(String(name.prefix(60))))' is not a variable name (letters, digits and _, not first a digit)")
            }
            // A value is bytes, UTF-8 or not, passed on exactly.
            return name + "=" + String(platformBytes: try value())
        }

        /// The value, up to the end of its (last) line.
        private mutating func value() throws(Malformed) -> [UInt8] {
            var result: [UInt8] = []
            // The length of the value without its trailing unquoted blanks.
            var kept = 0
            var leading = true
            while let b = current, b != 10 {
                if leading && Reader.isBlank(b) { advance(); continue }
                // A quote opens a quoted part only where a value begins (or
                // right after one); after other text it is kept as it is.
                if leading && (b == UInt8(ascii: "'") || b == UInt8(ascii: "\"")) {
                    try quoted(into: &result)
                    kept = result.count
                    continue
                }
                leading = false
                advance()
                if b == UInt8(ascii: "\\") {
                    guard let next = current else { break }
                    advance()
                    if next != 10 { result.append(next) }
                    kept = result.count
                    continue
                }
                result.append(b)
                if !Reader.isBlank(b) { kept = result.count }
            }
            return Array(result[..<kept])
        }

        /// A quoted part of a value, from its opening quote past its closing one.
        private mutating func quoted(into result: inout [UInt8]) throws(Malformed) {
            let quote = bytes[index]
            let opened = line
            advance()
            while let b = current {
                advance()
                if b == quote { return }
                if quote == UInt8(ascii: "\""), b == UInt8(ascii: "\\"), let next = current {
                    advance()
                    if next == 10 { continue }
                    if !Array("\"\\`$".utf8).contains(next) { result.append(b) }
                    result.append(next)
                    continue
                }
                result.append(b)
            }
            throw Malformed(line: opened, reason: "unterminated \(quote == UInt8(ascii: "'") ? "'" : "\"") quote")
        }
    }

    /// A name sh would take for a variable: letters, digits and `_`, not first a digit.
    static func isName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, !(48...57).contains(first) else { return false }
        return bytes.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 95 }
    }
}
