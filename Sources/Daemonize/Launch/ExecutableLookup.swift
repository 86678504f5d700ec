internal import Glibc

/// Finds the file `execvp` would run, before any fork, so that a missing
/// command is reported by the caller with its name.
package enum ExecutableLookup {
    /// The search path used when none is set.
    package static let defaultSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Resolves `name`: a name with a slash is taken as a path (made absolute
    /// against the current directory); a bare name is searched in `searchPath`.
    /// With `root`, every path is looked up inside that directory as a
    /// process chrooted there would (relative ones against `workingDirectory`),
    /// and the path returned is the one inside it.
    ///
    /// - Throws: `LaunchError` at step `.lookup`: ENOENT when nothing is found,
    ///   EACCES when only non-executable files or directories are.
    package static func resolve(_ name: String, searchPath: String?, root: FileDescriptor? = nil, workingDirectory: String? = nil) throws -> String {
        guard !name.isEmpty else { throw LaunchError(step: .lookup, errno: .noSuchFile, path: name) }
        func absolute(_ path: String) -> String {
            guard root != nil else { return Path.absolute(path) }
            return path.isAbsolutePath ? path : Path.join(workingDirectory ?? "/", path)
        }
        if name.contains(scalar: "/") {
            let path = absolute(name)
            if let problem = check(path, root: root) { throw LaunchError(step: .lookup, errno: problem, path: name) }
            return path
        }
        var sawDenied = false
        for directory in (searchPath ?? defaultSearchPath).split(scalar: ":", omittingEmpty: false) {
            let dir = directory.isEmpty ? "." : String(directory)
            let candidate = absolute(Path.join(dir, name))
            switch check(candidate, root: root) {
            case nil: return candidate
            case .some(.accessDenied): sawDenied = true
            default: continue
            }
        }
        throw LaunchError(step: .lookup, errno: sawDenied ? .accessDenied : .noSuchFile, path: name)
    }

    /// Nil when `path` is an executable regular file (inside `root`); the errno otherwise.
    static func check(_ path: String, root: FileDescriptor?) -> Errno? {
        if let root { return FileSystem.executableProblem(path, inRoot: root) }
        return FileSystem.executableProblem(path)
    }
}
