import Glibc
import Daemonize
import TestSupport
import Testing

/// The suite's rule about what a test needs of the machine
/// (Tests/TestSupport/Requirement.swift): skipped with the reason where it
/// is missing, failed under CI, and no test skips any other way.
@Suite struct RequirementTests {
    static let repository = Path.directory(of: Path.directory(of: Path.directory(of: #filePath)))

    @Test func aMissingRequirementSkipsOutsideCIAndFailsUnderIt() throws {
        let here = Requirement("something here") { true }
        let missing = Requirement("a unicorn") { false }
        #expect(try Requirement.check([here], enforced: true))
        #expect(try !Requirement.check([here, missing], enforced: false), "skipped outside CI")
        #expect(throws: Requirement.Unmet.self, "failed under CI") { try Requirement.check([here, missing], enforced: true) }
        do {
            _ = try Requirement.check([missing, here], enforced: true)
        } catch {
            #expect("\(error)" == "SWIFTD_CI=1: this test must run here, but it needs a unicorn, which is missing")
        }
    }

    /// A skip of its own (`.enabled(if:)`, `.disabled`, an early return on
    /// `geteuid()`, arguments filtered to what is installed) would pass
    /// under CI without testing: every test says what it needs with
    /// `.requires`. The stress suites are the one exception: `make stress`
    /// runs them, and `make test` leaves them out (`--skip StressTests`).
    /// And a time limit of its own would count its wait for its turn
    /// (`.hangLimit` says why): every suite uses `.hangLimit`.
    @Test func everyTestSaysWhatItNeedsThroughRequires() throws {
        var found: [String] = []
        let patterns = [".enabled(", ".disabled(", "geteuid() != 0", "getuid() != 0", ".filter(\\.installed)", ".timeLimit("]
        for directory in ["Tests", "Examples/Tests"] {
            for file in try swiftFiles(Path.join(Self.repository, directory)) {
                let name = String(file.dropFirst(Self.repository.count + 1))
                guard !["Tests/TestSupport/Requirement.swift", "Tests/TestSupport/HangLimit.swift", "Examples/Tests/ExamplesTests/Sandbox.swift",
                        "Tests/DaemonizeTests/RequirementTests.swift"].contains(name) else { continue }
                let text = String(decoding: try FileSystem.read(file, limit: 1 << 22), as: UTF8.self)
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    guard patterns.contains(where: { line.contains($0) }) else { continue }
                    if name.hasPrefix("Tests/StressTests/") && line.contains("Environment.value(\"SWIFTD_STRESS\") == \"1\"") { continue }
                    found.append("\(name):\(number + 1): \(line.drop { $0 == " " })")
                }
            }
        }
        #expect(found.isEmpty, "skips that CI would not catch: \(found)")
    }

    /// The README's prerequisites name every Debian package `.ci/run`
    /// installs when it is missing (`missing+=(PACKAGE)`), and no other.
    @Test func theReadmeListsThePackagesCIInstalls() throws {
        func text(_ file: String) throws -> String {
            String(decoding: try FileSystem.read(Path.join(Self.repository, file), limit: 1 << 20), as: UTF8.self)
        }
        var installed: Set<String> = []
        for line in try text(".ci/run").split(separator: "\n") {
            guard let start = line.firstRange(of: "missing+=(") else { continue }
            installed.insert(String(line[start.upperBound...].prefix { $0 != ")" }))
        }
        let readme = try text("README.md").split(separator: "\n").first { $0.hasPrefix("    apt-get install ") }
        let listed = Set(try #require(readme, "an apt-get install line in README.md").split(separator: " ").dropFirst(2).map(String.init))
        #expect(!installed.isEmpty && listed == installed, "README: \(listed.sorted()), .ci/run: \(installed.sorted())")
    }

    func swiftFiles(_ directory: String) throws -> [String] {
        var result: [String] = []
        for name in ProcessTable.entries(of: directory) where !name.hasPrefix(".") {
            let path = Path.join(directory, name)
            if name.hasSuffix(".swift") {
                result.append(path)
            } else if let st = try FileSystem.linkStatus(path), st.st_mode & S_IFMT == S_IFDIR {
                result += try swiftFiles(path)
            }
        }
        return result
    }
}
