import Glibc
import Daemonize

/// A real unprivileged user for the hostile-user tests: `swiftd-test`, which
/// `make check` creates when it is missing and it runs as root
/// (`useradd --system swiftd-test`). Tests that act as it say
/// `.requires(.hostileUser)`.
/// Commands run as it through `setpriv`, keeping the test's environment (and
/// so its mark: cleanup finds them whatever they became).
package struct HostileUser: Sendable {
    package static let name = "swiftd-test"
    package let uid: uid_t
    package let gid: gid_t

    /// The user, or an error that says how to create it.
    package static func require() throws -> HostileUser {
        guard let credentials = try? Credentials.lookup(user: name, group: nil), let uid = credentials.uid, let gid = credentials.gid else {
            throw SystemError("getpwnam", path: "\(name) (create it: useradd --system \(name))", errno: .noSuchFile)
        }
        return HostileUser(uid: uid, gid: gid)
    }

    /// The `setpriv` prefix that runs a command as this user.
    package var prefix: [String] { ["--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--"] }

    /// Runs `executable ARGS` as this user, to completion.
    package func run(_ h: Harness, _ executable: String, _ arguments: [String], timeout: Double = 30) throws -> RunResult {
        try TestSupport.run("/usr/bin/setpriv", prefix + [executable] + arguments, environment: h.scratch.environment, timeout: timeout)
    }

    /// Starts `executable ARGS` as this user without waiting.
    package func spawn(_ h: Harness, _ executable: String, _ arguments: [String]) throws -> Spawned {
        try Spawned.start("/usr/bin/setpriv", prefix + [executable] + arguments, environment: h.scratch.environment)
    }

    /// Runs `swiftd ARGS` (with the test's directories) as this user.
    package func swiftd(_ h: Harness, _ arguments: [String]) throws -> RunResult {
        try run(h, h.swiftdPath, h.withDirectories(arguments))
    }
}
