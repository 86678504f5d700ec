internal import Glibc

/// The pidfile a command that puts itself in the background writes
/// (`--pidfile FILE`: redis-server, nginx, memcached -d). It is the
/// service's word, and the service may run as a less trusted user: it can
/// write anything there, or put a symlink or a FIFO in its place. So it is
/// opened without following a symlink and without blocking, read only as a
/// regular file and only its first bytes, parsed strictly
/// (`PIDFile.parsePID`), and what it names is checked by the caller (a
/// process of the service, never taken on the file's word).
struct DaemonPIDFile: Sendable {
    /// What the file was at one moment: a file still the same has not been
    /// written since.
    struct Version: Equatable, Sendable {
        var file: FileLocks.FileID
        var size: Int64
        var modified: (seconds: Int, nanoseconds: Int)
        var changed: (seconds: Int, nanoseconds: Int)
        var content: [UInt8]

        static func == (a: Version, b: Version) -> Bool {
            a.file == b.file && a.size == b.size && a.modified == b.modified && a.changed == b.changed && a.content == b.content
        }
    }

    /// What a read found.
    enum Reading: Equatable, Sendable {
        /// A pid, parsed strictly.
        case pid(pid_t)
        /// Nothing to go on yet: no file, an empty one, or the file as it was
        /// before the start (the command has not written it).
        case notWritten(String)
        /// Not a pidfile: a symlink, not a regular file, unreadable, not a pid.
        case refused(String)
    }

    /// The most bytes read: a pid and a newline take at most 11.
    static let readLimit = 64

    let path: String

    init(_ path: String) {
        self.path = path
    }

    /// The file now, nil when there is none (or it is not a regular file).
    func version() -> Version? {
        guard case .file(let version) = open() else { return nil }
        return version
    }

    /// Reads the file; `before` is what it was before the command started.
    func read(since before: Version?) -> Reading {
        switch open() {
        case .problem(let reading):
            return reading
        case .file(let now):
            if let before, now == before { return .notWritten("it still holds what it held before the start") }
            if now.content.isEmpty { return .notWritten("it is empty") }
            guard let pid = PIDFile.parsePID(now.content) else {
                return .refused("it holds '\(Escaped.line(String(platformBytes: now.content.prefix(16))))', not a pid")
            }
            return .pid(pid)
        }
    }

    /// The file as it is, or why it cannot be read.
    private enum Opened {
        case file(Version)
        case problem(Reading)
    }

    private func open() -> Opened {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
        } catch let error as SystemError {
            switch error.errno {
            case .noSuchFile: return .problem(.notWritten("it does not exist"))
            case .tooManySymbolicLinks: return .problem(.refused("it is a symbolic link (refused)"))
            default: return .problem(.refused("it cannot be read: \(error.errno)"))
            }
        } catch {
            return .problem(.refused("it cannot be read: \(error)"))
        }
        defer { fd.close() }
        do {
            let st = try fd.status()
            guard st.st_mode & S_IFMT == S_IFREG else { return .problem(.refused("it is not a regular file (refused)")) }
            let content = try fd.readAll(limit: DaemonPIDFile.readLimit)
            return .file(Version(file: FileLocks.FileID(st), size: Int64(st.st_size),
                                    modified: (st.st_mtim.tv_sec, st.st_mtim.tv_nsec), changed: (st.st_ctim.tv_sec, st.st_ctim.tv_nsec),
                                    content: content))
        } catch let error as SystemError {
            return .problem(.refused("it cannot be read: \(error.errno)"))
        } catch {
            return .problem(.refused("it cannot be read: \(error)"))
        }
    }

    /// A `pidfile` given by a person: somewhere this user can look. Its
    /// directory exists and may be searched; a file already there is a
    /// regular file. (Whether the service may write there is the service's
    /// business: a start that never sees FILE says so.)
    static func checkPlace(_ path: String) throws {
        let file = Path.absolute(path)
        let directory = Path.directory(of: file)
        func bad(_ reason: String) -> ConfigurationError { ConfigurationKey.bad("pidfile", path, reason) }
        do {
            guard let st = try FileSystem.status(directory) else { throw bad("its directory \(directory) does not exist") }
            guard st.st_mode & S_IFMT == S_IFDIR else { throw bad("\(directory) is not a directory") }
        } catch let error as SystemError {
            throw bad("its directory \(directory) cannot be reached: \(error.errno)")
        }
        guard FileSystem.isSearchable(directory) else { throw bad("its directory \(directory) cannot be searched by this user") }
        guard let st = try? FileSystem.linkStatus(file) else { return }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFLNK: throw bad("it is a symbolic link")
        default: throw bad("it is not a regular file")
        }
    }
}
