internal import Glibc

/// An error number from the C library, printed with `strerror`. An error
/// that carries one matches it in a `catch`: `catch Errno.noSuchFile`
/// catches a `SystemError` or a `LaunchError` with that errno.
///
/// swift-system declares an `Errno` too (with longer case names): in a file
/// that imports both modules, write `Daemonize.Errno`.
public struct Errno: RawRepresentable, Hashable, Sendable, Error, CustomStringConvertible {
    /// The C `errno` value.
    public let rawValue: Int32

    /// Wraps a raw error number.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's current `errno`.
    public static var current: Errno { Errno(rawValue: errno) }

    /// The text the C function `strerror` gives, such as "Permission denied".
    public var description: String {
        guard let text = strerror(rawValue) else { return "error \(rawValue)" }
        return String(cString: text)
    }

    /// `EPERM`: Operation not permitted.
    public static let notPermitted = Errno(rawValue: EPERM)
    /// `ENOENT`: No such file or directory.
    public static let noSuchFile = Errno(rawValue: ENOENT)
    /// `ESRCH`: No such process.
    public static let noSuchProcess = Errno(rawValue: ESRCH)
    /// `EINTR`: Interrupted system call.
    public static let interrupted = Errno(rawValue: EINTR)
    /// `EBADF`: Bad file descriptor.
    public static let badDescriptor = Errno(rawValue: EBADF)
    /// `ECHILD`: No child processes.
    public static let noChild = Errno(rawValue: ECHILD)
    /// `EWOULDBLOCK`: Resource temporarily unavailable (`EAGAIN`).
    public static let wouldBlock = Errno(rawValue: EWOULDBLOCK)
    /// `EACCES`: Permission denied.
    public static let accessDenied = Errno(rawValue: EACCES)
    /// `EEXIST`: File exists.
    public static let exists = Errno(rawValue: EEXIST)
    /// `ENOTDIR`: Not a directory.
    public static let notDirectory = Errno(rawValue: ENOTDIR)
    /// `EISDIR`: Is a directory.
    public static let isDirectory = Errno(rawValue: EISDIR)
    /// `EINVAL`: Invalid argument.
    public static let invalid = Errno(rawValue: EINVAL)
    /// `EMFILE`: Too many open files.
    public static let tooManyOpen = Errno(rawValue: EMFILE)
    /// `ENOSPC`: No space left on device.
    public static let noSpace = Errno(rawValue: ENOSPC)
    /// `ELOOP`: Too many levels of symbolic links (an `O_NOFOLLOW` open of a symlink).
    public static let tooManySymbolicLinks = Errno(rawValue: ELOOP)
    /// `EMLINK`: Too many links.
    public static let tooManyLinks = Errno(rawValue: EMLINK)
    /// `ENOSYS`: Function not implemented.
    public static let notImplemented = Errno(rawValue: ENOSYS)
    /// `EOPNOTSUPP`: Operation not supported.
    public static let notSupported = Errno(rawValue: EOPNOTSUPP)
    /// `EPIPE`: Broken pipe.
    public static let brokenPipe = Errno(rawValue: EPIPE)
    /// `EROFS`: Read-only file system.
    public static let readOnlyFilesystem = Errno(rawValue: EROFS)
}

extension Errno {
    /// `catch Errno.x` and `case Errno.x` match an `Errno`, or a `SystemError`
    /// or `LaunchError` carrying it.
    public static func ~= (pattern: Errno, error: any Error) -> Bool {
        switch error {
        case let errno as Errno: return errno == pattern
        case let error as SystemError: return error.errno == pattern
        case let error as LaunchError: return error.errno == pattern
        default: return false
        }
    }
}
