import Glibc
import Daemonize
import Testing

/// What a test needs of the machine it runs on: root, a program, the
/// hostile user, the IPv6 loopback address. Every test that needs one says
/// so with the trait `.requires(...)`, never with a condition of its own.
///
/// Where a requirement is missing, the test is skipped and the runner says
/// why ("needs root"). Under CI (`.ci/run` sets `SWIFTD_CI=1`) nothing may
/// be skipped: a missing requirement fails the test, naming what is missing,
/// so a CI run that did not run a test never passes it.
package struct Requirement: Sendable, CustomStringConvertible {
    /// What is needed, as the skip message and the failure name it.
    package let description: String
    private let isMet: @Sendable () -> Bool

    package init(_ description: String, isMet: @escaping @Sendable () -> Bool) {
        self.description = description
        self.isMet = isMet
    }

    /// The environment variable that makes every requirement compulsory.
    package static let ciVariable = "SWIFTD_CI"

    /// True under CI: a requirement that is not met fails the test.
    package static var isEnforced: Bool { Environment.value(ciVariable) == "1" }

    /// Running as root (to switch users, mount a tmpfs, enter namespaces).
    package static let root = Requirement("root") { geteuid() == 0 }

    /// The executable `path`, from Debian's `package` (which `.ci/run` installs when it is missing).
    package static func program(_ path: String, from package: String) -> Requirement {
        Requirement("\(path) (Debian's \(package))") { FileSystem.executableProblem(path) == nil }
    }

    /// util-linux's programs that act as another user or in new namespaces.
    package static let setpriv = program("/usr/bin/setpriv", from: "util-linux")
    package static let unshare = program("/usr/bin/unshare", from: "util-linux")
    package static let nsenter = program("/usr/bin/nsenter", from: "util-linux")

    /// The system's python3: the one CI installs, not whichever is first in PATH.
    package static let python3 = program("/usr/bin/python3", from: "python3")

    /// gunicorn and uvicorn, pinned, in the virtual environment `make venv` makes (`RealServers`).
    package static let realServers = Requirement("gunicorn and uvicorn in .build-venv (make venv installs them, as make check does)") {
        RealServers.installed
    }

    /// The real unprivileged user the hostile-user tests act as, and root to act as it.
    package static let hostileUser = Requirement("root and the user \(HostileUser.name) (make check creates it: useradd --system \(HostileUser.name))") {
        geteuid() == 0 && FileSystem.executableProblem("/usr/bin/setpriv") == nil
            && (try? Credentials.lookup(user: HostileUser.name, group: nil))?.uid != nil
    }

    /// The IPv6 loopback address ::1 (not every container has it).
    package static let ipv6Loopback = Requirement("the IPv6 loopback address ::1") {
        String(decoding: (try? FileSystem.read("/proc/net/if_inet6", limit: 1 << 16)) ?? [], as: UTF8.self)
            .split(separator: "\n").contains { $0.hasPrefix("00000000000000000000000000000001 ") }
    }

    /// False when one of `requirements` is missing; when `enforced` (under
    /// CI), an error naming what is missing instead.
    package static func check(_ requirements: [Requirement], enforced: Bool = isEnforced) throws -> Bool {
        let missing = requirements.filter { !$0.isMet() }
        guard !missing.isEmpty else { return true }
        if enforced { throw Unmet(missing: missing.map(\.description)) }
        return false
    }

    /// A requirement CI insists on, missing.
    package struct Unmet: Error, CustomStringConvertible {
        package let missing: [String]
        package var description: String {
            "\(Requirement.ciVariable)=1: this test must run here, but it needs \(missing.joined(separator: " and ")), which is missing"
        }
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test (or every test of the suite) only where each of
    /// `requirements` is met: skipped with the reason elsewhere, failed under CI.
    package static func requires(_ requirements: Requirement...) -> Self {
        .enabled(Comment(rawValue: "needs " + requirements.map(\.description).joined(separator: " and "))) {
            try Requirement.check(requirements)
        }
    }
}
