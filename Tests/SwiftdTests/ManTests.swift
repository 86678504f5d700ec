import Glibc
import Daemonize
import TestSupport
import Testing

/// The man pages in man/ stay in step with the code: every command, option,
/// key and default is documented where it belongs.
@Suite(.hangLimit) struct ManTests {
    static let repository = Path.directory(of: Path.directory(of: Path.directory(of: #filePath)))

    func page(_ name: String) throws -> String {
        String(decoding: try FileSystem.read(Path.join(Path.join(Self.repository, "man"), name), limit: 1 << 20), as: UTF8.self)
    }

    /// The source lines of the list entry that starts with `head` (up to the next `.It` or `.El`).
    func entry(_ source: String, startingWith head: String) -> String? {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0 == head || $0.hasPrefix(head + " ") }) else { return nil }
        var end = start + 1
        while end < lines.count && !lines[end].hasPrefix(".It ") && !lines[end].hasPrefix(".El") { end += 1 }
        return lines[start..<end].joined(separator: "\n")
    }

    /// The source of section `name` (up to the next `.Sh`).
    func section(_ source: String, _ name: String) -> String {
        guard let start = source.firstRange(of: "\n.Sh \(name)\n") else { return "" }
        let rest = source[start.upperBound...]
        return String(rest[..<(rest.firstRange(of: "\n.Sh ")?.lowerBound ?? rest.endIndex)])
    }

    /// What a default looks like in the brackets of a page, when it is a value.
    func shownDefault(_ key: ConfigurationKey) -> String? {
        key.defaultValue.isEmpty || key.defaultValue.contains("<") ? nil : key.defaultValue
    }

    @Test func swiftdPageHasEveryCommandOptionAndDefault() throws {
        let source = try page("swiftd.1")
        for command in ["start", "stop", "restart", "status", "reload", "signal", "reopen", "list", "logs", "run", "check", "help"] {
            #expect(source.contains("\n.It Cm \(command) "), "COMMANDS describes \(command)")
            #expect(source.contains("\n.Cm \(command)\n"), "SYNOPSIS shows \(command)")
        }
        for key in ServiceConfiguration.keys where key.name != "command" {
            let item = entry(source, startingWith: ".It Fl \\-\(key.name)")
            #expect(item != nil, "OPTIONS describes --\(key.name)")
            if key.kind != .flag, let value = shownDefault(key) {
                #expect(item?.contains("\n.Bq \(value)") == true, "--\(key.name) shows its default [\(value)]: \(item ?? "")")
            }
        }
        for option in ["run-dir", "log-dir", "config-dir", "help", "version", "json", "timeout", "signal", "lines", "follow"] {
            #expect(source.contains("Fl \\-\(option)"), "--\(option)")
        }
        for variable in ["SWIFTD_RUN_DIR", "SWIFTD_LOG_DIR", "SWIFTD_CONFIG_DIR", "XDG_RUNTIME_DIR", "XDG_STATE_HOME", "XDG_CONFIG_HOME",
                         "PATH", "NOTIFY_SOCKET", "SWIFTD_SYSLOG_SOCKET"] {
            #expect(section(source, "ENVIRONMENT").contains(" \(variable)"), "ENVIRONMENT: \(variable)")
        }
        for file in ["/run/swiftd/", "/var/log/swiftd/", "/etc/swiftd/"] {
            #expect(source.contains(".It Pa \(file)"), "FILES: \(file)")
        }
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "ENVIRONMENT", "FILES", "EXIT STATUS", "EXAMPLES", "SEE ALSO"] {
            #expect(source.contains("\n.Sh \(section)\n"), "section \(section)")
        }
    }

    @Test func confPageHasEveryKeyAndDefault() throws {
        let source = try page("swiftd.conf.5")
        for key in ServiceConfiguration.keys {
            let item = entry(source, startingWith: ".It Cm \(key.name) No =")
            #expect(item != nil, "KEYS describes \(key.name)")
            if let value = shownDefault(key) {
                #expect(item?.contains("\n.Bq \(value)") == true, "\(key.name) shows its default [\(value)]: \(item ?? "")")
            }
        }
    }

    /// Every public type, function and property of the library is named in
    /// Daemonize.3: found in the sources (a declaration that begins with
    /// `public`), so a new one without its line in the page fails here.
    @Test func libraryPageNamesEveryPublicDeclaration() throws {
        let source = try page("Daemonize.3")
        var missing: [String] = []
        for file in try sourceFiles(Path.join(Self.repository, "Sources/Daemonize")) {
            let text = String(decoding: try FileSystem.read(file, limit: 1 << 20), as: UTF8.self)
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ")
                guard words.first == "public", words.count > 2, words[1] != "import" else { continue }
                guard let kind = words.firstIndex(where: { ["class", "struct", "enum", "func"].contains($0) }), kind + 1 < words.count else { continue }
                let name = words[kind + 1].prefix { $0.isLetter || $0.isNumber }
                guard !name.isEmpty, !["description", "hash"].contains(String(name)) else { continue }
                if !source.contains(String(name)) { missing.append("\(Path.fileName(of: file)): \(name)") }
            }
        }
        #expect(missing.isEmpty, "not in man/Daemonize.3: \(missing)")
        #expect(source.contains("\n.Sh EXAMPLES\n"))
    }

    func sourceFiles(_ directory: String) throws -> [String] {
        var result: [String] = []
        guard let dir = opendir(directory) else { throw SystemError("opendir", path: directory) }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let path = Path.join(directory, name)
            if name.hasSuffix(".swift") {
                result.append(path)
            } else if !name.hasPrefix("."), entry.pointee.d_type == UInt8(DT_DIR) {
                result += try sourceFiles(path)
            }
        }
        return result
    }
}
