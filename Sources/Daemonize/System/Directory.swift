package import Glibc
internal import CDaemonize

/// A directory reached through a descriptor (`O_PATH`). Names in it are
/// looked up from the very directory that was opened (and checked), never by
/// walking its path again: a directory swapped for a symlink or for another
/// directory between two calls changes nothing that is done through this one.
package struct Directory {
    package let descriptor: FileDescriptor
    /// Its path, for messages.
    package let path: String

    /// Opens the directory `path`. Its last component must be the directory
    /// itself, unless `followingSymlink`: a symlink there fails (`ELOOP` or
    /// `ENOTDIR`), as `lstat` would show it. The components above are
    /// followed, as any path's are.
    ///
    /// The corresponding C function is `open` (`O_PATH | O_DIRECTORY`, and `O_NOFOLLOW`).
    package static func open(_ path: String, followingSymlink: Bool = false) throws -> Directory {
        let fd = path.withPlatformString { path in retryingOnInterrupt { dz_open_path(path, O_DIRECTORY | (followingSymlink ? 0 : O_NOFOLLOW)) } }
        if fd < 0 { throw SystemError("open", path: path) }
        return Directory(descriptor: FileDescriptor(rawValue: fd), path: path)
    }

    /// Closes the descriptor.
    package func close() { descriptor.close() }

    /// `name` in this directory, as a path for messages.
    package func path(of name: String) -> String { Path.join(path, name) }

    /// The directory's own status.
    ///
    /// The corresponding C function is `fstat`.
    package func status() throws -> stat {
        try descriptor.status()
    }

    /// The status of `name` itself (a symlink is not followed), or nil when
    /// nothing has that name.
    ///
    /// The corresponding C function is `fstatat` (`AT_SYMLINK_NOFOLLOW`).
    package func linkStatus(_ name: String) throws -> stat? {
        var st = stat()
        if name.withPlatformString({ fstatat(descriptor.rawValue, $0, &st, AT_SYMLINK_NOFOLLOW) }) != 0 {
            if errno == ENOENT { return nil }
            throw SystemError("lstat", path: path(of: name))
        }
        return st
    }

    /// Opens `name` in this directory. `O_CLOEXEC` is always added.
    ///
    /// The corresponding C function is `openat`.
    package func open(_ name: String, _ flags: Int32, mode: mode_t = 0o644) throws -> FileDescriptor {
        try FileDescriptor.open(name, in: descriptor, flags, mode: mode, path: path(of: name))
    }

    /// A descriptor that only names what is at `name` (`O_PATH`): a symlink
    /// itself, never its target; nil when nothing has that name.
    ///
    /// The corresponding C function is `openat` (`O_PATH | O_NOFOLLOW`).
    package func openPath(_ name: String, directory: Bool = false) throws -> FileDescriptor? {
        let fd = name.withPlatformString { name in retryingOnInterrupt { dz_open_path_at(descriptor.rawValue, name, directory ? O_DIRECTORY : 0) } }
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw SystemError("open", path: path(of: name))
        }
        return FileDescriptor(rawValue: fd)
    }

    /// The directory `name` in this one, opened as `open(_:)` does (not
    /// through a symlink).
    package func subdirectory(_ name: String) throws -> Directory {
        let fd = name.withPlatformString { name in retryingOnInterrupt { dz_open_path_at(descriptor.rawValue, name, O_DIRECTORY) } }
        if fd < 0 { throw SystemError("open", path: path(of: name)) }
        return Directory(descriptor: FileDescriptor(rawValue: fd), path: path(of: name))
    }

    /// Creates the directory `name` with `mode`; false when something has that name already.
    ///
    /// The corresponding C function is `mkdirat`.
    package func makeDirectory(_ name: String, mode: mode_t) throws -> Bool {
        if name.withPlatformString({ mkdirat(descriptor.rawValue, $0, mode) }) == 0 { return true }
        if errno == EEXIST { return false }
        throw SystemError("mkdir", path: path(of: name))
    }

    /// Removes `name` (a directory with `directory`); a missing name is not an error.
    ///
    /// The corresponding C function is `unlinkat`.
    package func remove(_ name: String, directory: Bool = false) throws {
        if name.withPlatformString({ unlinkat(descriptor.rawValue, $0, directory ? AT_REMOVEDIR : 0) }) != 0 && errno != ENOENT {
            throw SystemError(directory ? "rmdir" : "unlink", path: path(of: name))
        }
    }

    /// How `rename` treats a name that exists at the destination.
    package enum Replacing: UInt32 {
        /// Replaced atomically (`rename`).
        case replace = 0
        /// Left alone: the rename fails with `EEXIST` (`RENAME_NOREPLACE`).
        case never = 1
        /// Both names swapped atomically; both must exist (`RENAME_EXCHANGE`).
        case exchange = 2
    }

    /// Renames `name` here to `newName` in `target` (this directory when nil).
    ///
    /// The corresponding C function is `renameat2`.
    package func rename(_ name: String, to newName: String, in target: Directory? = nil, replacing: Replacing = .replace) throws {
        let into = target ?? self
        let done = name.withPlatformString { name in
            newName.withPlatformString { newName in
                replacing == .replace
                    ? renameat(descriptor.rawValue, name, into.descriptor.rawValue, newName)
                    : dz_renameat2(descriptor.rawValue, name, into.descriptor.rawValue, newName, replacing.rawValue)
            }
        }
        if done != 0 { throw SystemError("rename", path: into.path(of: newName)) }
    }
}

extension Directory {
    /// Opens the directory `path` to keep files in (`what` names it in
    /// errors: "run dir", "log dir"), refusing one that others could plant
    /// files in or swap: a symlink, not a directory, owned by another user
    /// than this one or root, writable by everyone without the sticky bit.
    /// What is then done through it is done in the very directory checked.
    package static func openTrusted(_ path: String, what: String) throws -> Directory {
        func refuse(_ problem: InvalidFile.Problem, _ reason: String) -> InvalidFile {
            InvalidFile(.directory, path, problem, message: "\(what) \(path): \(reason)")
        }
        let directory: Directory
        do {
            directory = try open(path)
        } catch let error as SystemError {
            // O_NOFOLLOW | O_DIRECTORY says ENOTDIR for a symlink and for a file alike.
            guard error.errno == .notDirectory || error.errno == .tooManySymbolicLinks, let st = try? FileSystem.linkStatus(path) else {
                throw SystemError(what, path: path, errno: error.errno)
            }
            if st.st_mode & S_IFMT == S_IFLNK { throw refuse(.symbolicLink, "is a symbolic link (refused)") }
            throw refuse(.wrongType, "not a directory")
        }
        do {
            let st = try directory.status()
            if st.st_uid != 0 && st.st_uid != CurrentProcess.effectiveUserID {
                throw refuse(.foreignOwner(st.st_uid), "owned by uid \(st.st_uid), not by this user or root (refused)")
            }
            if st.st_mode & 0o002 != 0 && st.st_mode & S_ISVTX == 0 {
                throw refuse(.writableByOthers, "writable by everyone and not sticky (refused)")
            }
            return directory
        } catch {
            directory.close()
            throw error
        }
    }
}
