import Glibc
import Daemonize

/// The real servers of the zero-downtime tests: gunicorn and uvicorn,
/// pinned in `Tests/fixtures/real-servers.txt` and installed by `make venv`
/// (which `make check` runs) into the virtual environment `.build-venv` of
/// Debian's python3, and the apps they serve (`Tests/fixtures/wsgi-app.py`,
/// `asgi-app.py`).
package enum RealServers {
    /// The package's root directory.
    package static let root = Path.directory(of: Path.directory(of: Path.directory(of: #filePath)))
    package static let fixtures = Path.join(root, "Tests/fixtures")
    package static let venv = Path.join(root, ".build-venv")
    /// Where the servers' programs are.
    package static let bin = Path.join(venv, "bin")

    /// True when `make venv` has installed both servers.
    package static var installed: Bool {
        ["gunicorn", "uvicorn"].allSatisfy { FileSystem.executableProblem(Path.join(bin, $0)) == nil }
    }

    /// The text of app.py for `server` ("wsgi-app.py" or "asgi-app.py")
    /// saying `version`; `broken` adds a syntax error (a bad edit).
    package static func app(_ server: String, version: String, broken: Bool = false) throws -> [UInt8] {
        let template = String(decoding: try FileSystem.read(Path.join(fixtures, server), limit: 1 << 16), as: UTF8.self)
        var text = template.replacing("VERSION = \"v0\"", with: "VERSION = \"\(version)\"")
        if broken { text += "\ndef broken(:\n" }
        return Array(text.utf8)
    }

    /// The README's example of a restart without downtime (`swiftd start app
    /// ... -- gunicorn app:app`), its continuation lines joined, as a shell
    /// would run it; nil when README.md has none.
    package static func readmeExample() -> String? {
        guard let bytes = try? FileSystem.read(Path.join(root, "README.md"), limit: 1 << 22) else { return nil }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard var index = lines.firstIndex(where: { $0.contains("$ swiftd start app ") }) else { return nil }
        var command = ""
        func trimmed<S: StringProtocol>(_ text: S) -> String { String(text.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
        while index < lines.count {
            var line = trimmed(lines[index])
            if command.isEmpty, let dollar = line.firstRange(of: "$ ") { line = String(line[dollar.upperBound...]) }
            let continues = line.hasSuffix("\\")
            command += (command.isEmpty ? "" : " ") + (continues ? trimmed(line.dropLast()) : line)
            if !continues { break }
            index += 1
        }
        return command.contains("gunicorn app:app") ? command : nil
    }
}
