internal import Glibc

/// Finds the file `execvp` would run, before any fork, so that a missing
/// command is reported by the caller with its name.
package enum ExecutableLookup {
    /// The search path used when none is set.
    package static let defaultSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Resolves `name`: a name with a slash is taken as a path (made absolute
    /// against the current directory); a bare name is searched in `searchPath`.
    ///
    /// - Throws: `LaunchError` at step `.lookup`: ENOENT when nothing is found,
    ///   EACCES when only non-executable files or directories are.
    package static func resolve(_ name: String, searchPath: String?) throws -> String {
        guard !name.isEmpty else { throw LaunchError(step: .lookup, errno: .noSuchFile, path: name) }
        if name.contains(scalar: "/") {
            let path = Path.absolute(name)
            if let problem = check(path) { throw LaunchError(step: .lookup, errno: problem, path: name) }
            return path
        }
        var sawDenied = false
        for directory in (searchPath ?? defaultSearchPath).split(scalar: ":", omittingEmpty: false) {
            let dir = directory.isEmpty ? "." : String(directory)
            let candidate = Path.absolute(Path.join(dir, name))
            switch check(candidate) {
            case nil: return candidate
            case .some(.accessDenied): sawDenied = true
            default: continue
            }
        }
        throw LaunchError(step: .lookup, errno: sawDenied ? .accessDenied : .noSuchFile, path: name)
    }

    /// Nil when `path` is an executable regular file; the errno otherwise.
    static func check(_ path: String) -> Errno? {
        FileSystem.executableProblem(path)
    }
}
