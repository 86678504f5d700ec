public import Glibc

/// A file or directory that is not what it must be, said in one line:
/// another user's, a symbolic link, a FIFO where a regular file belongs,
/// garbage where a state or config file belongs. It says what is wrong;
/// the control layer decides the exit code (`ExitCode.of`).
public struct InvalidFile: Error, Hashable, Sendable, CustomStringConvertible {
    /// What the file was to be.
    public enum Kind: Hashable, Sendable {
        /// A swiftd config file.
        case config
        /// A swiftd state file.
        case state
        /// A pidfile.
        case pidFile
        /// A log file.
        case log
        /// A directory.
        case directory
        /// Any other file.
        case other
    }

    /// What is wrong with it.
    public enum Problem: Hashable, Sendable {
        /// A symbolic link where none may be.
        case symbolicLink
        /// A FIFO, socket, device or directory where a regular file belongs, or the reverse.
        case wrongType
        /// Owned by another user than the caller and root.
        case foreignOwner(uid_t)
        /// Writable by group or others (or by everyone, without the sticky bit).
        case writableByOthers
        /// It has other names (hard links).
        case otherLinks
        /// Its content is not what it must be.
        case malformed
        /// It cannot be read at all.
        case unreadable(Errno)
        /// A pidfile naming a pid that is never a service's (1, the caller).
        case refusedPID(pid_t)
        /// Locked by other users' processes, which its mode let open it.
        case lockedByOthers
        /// A descriptor handed over as a pidfile's lock that is not the file at the path.
        case otherFile
    }

    /// What the file was to be.
    public var kind: Kind
    /// The file.
    public var path: String
    /// What is wrong with it.
    public var problem: Problem
    /// The whole line: "state file /run/swiftd/x.state: is a symbolic link (refused)".
    public var message: String

    package init(_ kind: Kind, _ path: String, _ problem: Problem, message: String) {
        self.kind = kind
        self.path = path
        self.problem = problem
        self.message = message
    }

    /// A file refused for who may write it: "PATH: REASON (refused)".
    static func refused(_ kind: Kind, _ path: String, _ problem: Problem, _ reason: String) -> InvalidFile {
        InvalidFile(kind, path, problem, message: "\(path): \(reason) (refused)")
    }

    /// The whole line, as `message`.
    public var description: String { message }
}
