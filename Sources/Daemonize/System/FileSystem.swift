package import Glibc
internal import CDaemonize

/// Path operations that do not need an open descriptor.
package enum FileSystem {
    /// The status of `path` itself (a symlink is not followed), or nil when it does not exist.
    ///
    /// The corresponding C function is `lstat`.
    package static func linkStatus(_ path: String) throws -> stat? {
        var st = stat()
        if path.withPlatformString({ lstat($0, &st) }) != 0 {
            if errno == ENOENT { return nil }
            throw SystemError("lstat", path: path)
        }
        return st
    }

    /// The status of what `path` names, following symlinks; nil when it does not exist.
    ///
    /// The corresponding C function is `stat`.
    package static func status(_ path: String) throws -> stat? {
        var st = stat()
        if path.withPlatformString({ stat($0, &st) }) != 0 {
            if errno == ENOENT { return nil }
            throw SystemError("stat", path: path)
        }
        return st
    }

    /// True when `path` exists (without following a final symlink).
    package static func exists(_ path: String) -> Bool {
        var st = stat()
        return path.withPlatformString { lstat($0, &st) } == 0
    }

    /// Removes `path`; a missing file is not an error.
    ///
    /// The corresponding C function is `unlink`.
    package static func remove(_ path: String) throws {
        if path.withPlatformString(unlink) != 0 && errno != ENOENT { throw SystemError("unlink", path: path) }
    }

    /// Renames `from` to `to`, replacing `to` atomically.
    ///
    /// The corresponding C function is `rename`.
    package static func rename(_ from: String, to: String) throws {
        if from.withPlatformString({ from in to.withPlatformString { Glibc.rename(from, $0) } }) != 0 { throw SystemError("rename", path: from) }
    }

    /// Creates the directory `path` with `mode`; one that exists already is fine.
    ///
    /// The corresponding C function is `mkdir`.
    package static func makeDirectory(_ path: String, mode: mode_t) throws {
        if path.withPlatformString({ mkdir($0, mode) }) != 0 && errno != EEXIST { throw SystemError("mkdir", path: path) }
    }

    /// True when this process may write in (or to) `path`, by its real ids.
    ///
    /// The corresponding C function is `access`.
    package static func isWritable(_ path: String) -> Bool { path.withPlatformString { access($0, W_OK) } == 0 }

    /// True when this process may look up names in the directory `path`, by its real ids.
    ///
    /// The corresponding C function is `access`.
    package static func isSearchable(_ path: String) -> Bool { path.withPlatformString { access($0, X_OK) } == 0 }

    /// Nil when `path` is a regular file this process may execute; the errno otherwise.
    ///
    /// The corresponding C functions are `stat` and `access`.
    package static func executableProblem(_ path: String) -> Errno? {
        var st = stat()
        if path.withPlatformString({ stat($0, &st) }) != 0 { return Errno.current }
        if st.st_mode & S_IFMT == S_IFDIR { return .accessDenied }
        if path.withPlatformString({ access($0, X_OK) }) != 0 { return Errno.current }
        // root passes access(X_OK) when any execute bit is set; exec needs one.
        if st.st_mode & 0o111 == 0 { return .accessDenied }
        return nil
    }

    /// Nil when `path`, taken inside the directory `root` as a process
    /// chrooted there would see it (absolute symbolic links and ".." stay
    /// inside), is a regular file this process may execute; the errno otherwise.
    ///
    /// The corresponding C functions are `openat2` (`RESOLVE_IN_ROOT`), `fstat` and `faccessat`.
    package static func executableProblem(_ path: String, inRoot root: FileDescriptor) -> Errno? {
        let fd = path.withPlatformString { dz_open_path_in_root(root.rawValue, $0) }
        if fd < 0 { return Errno.current }
        defer { FileDescriptor(rawValue: fd).close() }
        var st = stat()
        if fstat(fd, &st) != 0 { return Errno.current }
        if st.st_mode & S_IFMT == S_IFDIR { return .accessDenied }
        if dz_access_fd(fd, X_OK) != 0 { return Errno.current }
        if st.st_mode & 0o111 == 0 { return .accessDenied }
        return nil
    }

    /// Nil when `path` is a directory (inside `root`, as a process chrooted
    /// there would see it, when given); the errno otherwise (`notDirectory`
    /// for another kind of file).
    ///
    /// The corresponding C functions are `open` (`O_PATH`), or `openat2`
    /// (`RESOLVE_IN_ROOT`), and `fstat`.
    package static func directoryProblem(_ path: String, inRoot root: FileDescriptor?) -> Errno? {
        let fd = path.withPlatformString { path in root.map { dz_open_path_in_root($0.rawValue, path) } ?? dz_open_path(path, 0) }
        if fd < 0 { return Errno.current }
        defer { FileDescriptor(rawValue: fd).close() }
        var st = stat()
        if fstat(fd, &st) != 0 { return Errno.current }
        return st.st_mode & S_IFMT == S_IFDIR ? nil : .notDirectory
    }

    /// Renames `from` to `to` unless `to` exists (then `Errno.exists`).
    /// An open descriptor of `from` then names `to` in /proc.
    ///
    /// The corresponding C function is `renameat2` with `RENAME_NOREPLACE`.
    package static func renameWithoutReplacing(_ from: String, to: String) throws {
        if from.withPlatformString({ from in to.withPlatformString { dz_rename_noreplace(from, $0) } }) != 0 { throw SystemError("rename", path: to) }
    }

    /// Creates the directory `path` and any missing parents with `mode`
    /// (parents get 0755). An existing directory is fine; anything else at a
    /// component is an error.
    package static func makeDirectories(_ path: String, mode: mode_t) throws {
        if let st = try status(path) {
            if st.st_mode & S_IFMT != S_IFDIR { throw SystemError("mkdir", path: path, errno: .notDirectory) }
            return
        }
        let parent = Path.directory(of: path)
        if parent != path && !parent.isEmpty { try makeDirectories(parent, mode: 0o755) }
        if path.withPlatformString({ mkdir($0, mode) }) != 0 && errno != EEXIST { throw SystemError("mkdir", path: path) }
    }

    /// Reads a whole small file (at most `limit` bytes), refusing symlinks.
    /// With `trusted` (the kind of file it is to be), also refuses a file
    /// owned by anyone but this user or root, or writable by group or others.
    package static func read(_ path: String, limit: Int = 1 << 20, trusted: InvalidFile.Kind? = nil) throws -> [UInt8] {
        try read(opened: FileDescriptor.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY), path: path, limit: limit, trusted: trusted)
    }

    /// Reads the file `name` in `directory`, as `read(_:limit:trusted:)` does.
    package static func read(_ name: String, in directory: Directory, limit: Int = 1 << 20, trusted: InvalidFile.Kind? = nil) throws -> [UInt8] {
        try read(opened: directory.open(name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY), path: directory.path(of: name), limit: limit, trusted: trusted)
    }

    private static func read(opened fd: FileDescriptor, path: String, limit: Int, trusted: InvalidFile.Kind?) throws -> [UInt8] {
        defer { fd.close() }
        do {
            let st = try fd.status()
            if st.st_mode & S_IFMT != S_IFREG { throw SystemError("open", path: path, errno: st.st_mode & S_IFMT == S_IFDIR ? .isDirectory : .invalid) }
            if let kind = trusted {
                // Root's own first: no geteuid call for the usual case.
                if st.st_uid != 0 && st.st_uid != geteuid() {
                    throw InvalidFile.refused(kind, path, .foreignOwner(st.st_uid), "owned by uid \(st.st_uid), not by this user or root")
                }
                if st.st_mode & 0o022 != 0 { throw InvalidFile.refused(kind, path, .writableByOthers, "writable by group or others") }
            }
            return try fd.readAll(limit: limit, regularFileSize: Int(st.st_size))
        } catch let error as SystemError {
            throw error.at(path)
        }
    }

    /// The decimal number a small file holds (a setting under /proc or
    /// /sys), nil when it cannot be read or holds something else.
    package static func readNumber(_ path: String) -> UInt64? {
        guard let bytes = try? read(path, limit: 64) else { return nil }
        return UInt64(String(decoding: bytes, as: UTF8.self).trimmingSpaces)
    }

    /// Writes `bytes` to `path` atomically: a temporary file in the same
    /// directory, flushed, then renamed over `path`. Refuses to replace a
    /// symlink or anything but a regular file.
    ///
    /// The temporary file is named after the calling thread, which no other
    /// live thread shares: one found there was left by a writer that died
    /// (killed between its create and its rename) and is removed first.
    package static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let directory: Directory
        do {
            directory = try Directory.open(Path.directory(of: path), followingSymlink: true)
        } catch let error as SystemError {
            throw SystemError("open", path: path, errno: error.errno)
        }
        defer { directory.close() }
        try writeAtomically(Path.fileName(of: path), in: directory, bytes, mode: mode)
    }

    /// Writes `bytes` to `name` in `directory` atomically, as
    /// `writeAtomically(_:_:mode:)` does, every step through the directory's
    /// descriptor: the temporary file is made, and renamed, in the very
    /// directory that was opened.
    package static func writeAtomically(_ name: String, in directory: Directory, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        if let st = try directory.linkStatus(name), st.st_mode & S_IFMT != S_IFREG {
            throw SystemError("open", path: directory.path(of: name), errno: st.st_mode & S_IFMT == S_IFLNK ? .tooManySymbolicLinks : .invalid)
        }
        let temporary = ".\(name).\(dz_gettid()).tmp"
        try directory.remove(temporary)
        let fd = try directory.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode)
        var open = true
        do {
            try fd.writeAll(bytes)
            if fchmod(fd.rawValue, mode) != 0 { throw SystemError("fchmod") }
            fd.close()
            open = false
            try directory.rename(temporary, to: name)
        } catch let error as SystemError {
            if open { fd.close() }
            try? directory.remove(temporary)
            throw error.at(directory.path(of: temporary))
        }
    }
}

extension FileSystem {
    /// Opens a log file for appending (creating it with `mode`), refusing
    /// anything another user could read, truncate or forge: a symlink, a
    /// non-regular file, a file owned by someone other than this user or root
    /// (one planted in a shared sticky directory), or a file with other hard
    /// links. The descriptor is non-blocking only where that matters (a FIFO
    /// is refused anyway).
    /// With `create` false, a missing file is not created (ENOENT): a check
    /// of an existing log before anything starts.
    package static func openLog(_ path: String, mode: mode_t = 0o644, create: Bool = true) throws -> FileDescriptor {
        let directory: Directory
        do {
            directory = try Directory.open(Path.directory(of: path), followingSymlink: true)
        } catch let error as SystemError {
            throw SystemError("open", path: path, errno: error.errno)
        }
        defer { directory.close() }
        return try openLog(Path.fileName(of: path), in: directory, mode: mode, create: create)
    }

    /// Opens the log file `name` in `directory`, as `openLog(_:mode:create:)` does.
    package static func openLog(_ name: String, in directory: Directory, mode: mode_t = 0o644, create: Bool = true) throws -> FileDescriptor {
        let path = directory.path(of: name)
        let fd = try directory.open(name, O_WRONLY | (create ? O_CREAT : 0) | O_APPEND | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, mode: mode)
        do {
            let st = try fd.status()
            if st.st_mode & S_IFMT != S_IFREG {
                throw SystemError("open", path: path, errno: st.st_mode & S_IFMT == S_IFDIR ? .isDirectory : .invalid)
            }
            if st.st_uid != geteuid() && st.st_uid != 0 {
                throw InvalidFile.refused(.log, path, .foreignOwner(st.st_uid), "owned by uid \(st.st_uid), not by this user or root")
            }
            if st.st_nlink > 1 { throw InvalidFile.refused(.log, path, .otherLinks, "has \(st.st_nlink) hard links") }
            return fd
        } catch let error as SystemError {
            fd.close()
            throw error.at(path)
        } catch {
            fd.close()
            throw error
        }
    }
}

/// String operations on paths, without touching the file system.
package enum Path {
    /// The directory part of `path` ("." for a bare name, "/" for "/x").
    package static func directory(of path: String) -> String {
        var bytes = Array(path.utf8)
        while bytes.count > 1 && bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        if slash == 0 { return "/" }
        var end = slash
        while end > 1 && bytes[end - 1] == UInt8(ascii: "/") { end -= 1 }
        return String(decoding: bytes[0..<end], as: UTF8.self)
    }

    /// The last component of `path`.
    package static func fileName(of path: String) -> String {
        var bytes = Array(path.utf8)
        while bytes.count > 1 && bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return String(decoding: bytes[(slash + 1)...], as: UTF8.self)
    }

    /// `path` joined to `name` with one slash, then `suffix` (`join(dir,
    /// name, suffix: ".pid")`), made in one allocation: a status of a
    /// thousand services makes two thousand of them.
    package static func join(_ path: String, _ name: String, suffix: StaticString = "") -> String {
        var path = path, name = name
        return path.withUTF8 { p in
            name.withUTF8 { n in
                let s = UnsafeBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount)
                let slash: UInt8? = p.last == UInt8(ascii: "/") ? nil : UInt8(ascii: "/")
                return String(unsafeUninitializedCapacity: p.count + (slash == nil ? 0 : 1) + n.count + s.count) { out in
                    var end = UnsafeMutableBufferPointer(rebasing: out[...]).initialize(fromContentsOf: p)
                    if let slash { out[end] = slash; end += 1 }
                    end += UnsafeMutableBufferPointer(rebasing: out[end...]).initialize(fromContentsOf: n)
                    end += UnsafeMutableBufferPointer(rebasing: out[end...]).initialize(fromContentsOf: s)
                    return end
                }
            }
        }
    }

    /// `path` made absolute against the current directory.
    package static func absolute(_ path: String) -> String {
        if path.isAbsolutePath { return path }
        return join(currentDirectory(), path)
    }

    /// The current working directory.
    ///
    /// The corresponding C function is `getcwd`.
    package static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        return buffer.withUnsafeMutableBufferPointer { buffer in
            guard let result = getcwd(buffer.baseAddress, buffer.count) else { return "/" }
            return String(platformString: result)
        }
    }
}
