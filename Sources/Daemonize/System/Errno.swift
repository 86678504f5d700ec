/// An error number from the C library, printed with `strerror`. An error
/// that carries one matches it in a `catch`: `catch Errno.noSuchFile`
/// catches a `SystemError` with that errno, as in swift-system.
public struct Errno: RawRepresentable, Hashable, Sendable, Error, CustomStringConvertible {
    /// The raw C `errno` value.
    public let rawValue: Int32

    /// Wraps a raw error number.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's current `errno`.
    public static var current: Errno { Errno(rawValue: errno) }

    /// The `strerror` text, such as "Permission denied".
    public var description: String {
        guard let text = strerror(rawValue) else { return "error \(rawValue)" }
        return String(cString: text)
    }

    public static let notPermitted = Errno(rawValue: EPERM)
    public static let noSuchFile = Errno(rawValue: ENOENT)
    public static let noSuchProcess = Errno(rawValue: ESRCH)
    public static let interrupted = Errno(rawValue: EINTR)
    public static let badDescriptor = Errno(rawValue: EBADF)
    public static let noChild = Errno(rawValue: ECHILD)
    public static let wouldBlock = Errno(rawValue: EWOULDBLOCK)
    public static let accessDenied = Errno(rawValue: EACCES)
    public static let exists = Errno(rawValue: EEXIST)
    public static let notDirectory = Errno(rawValue: ENOTDIR)
    public static let isDirectory = Errno(rawValue: EISDIR)
    public static let invalid = Errno(rawValue: EINVAL)
    public static let tooManyOpen = Errno(rawValue: EMFILE)
    public static let noSpace = Errno(rawValue: ENOSPC)
    public static let tooManySymbolicLinks = Errno(rawValue: ELOOP)
    public static let tooManyLinks = Errno(rawValue: EMLINK)
    public static let notImplemented = Errno(rawValue: ENOSYS)
    public static let notSupported = Errno(rawValue: EOPNOTSUPP)
    public static let brokenPipe = Errno(rawValue: EPIPE)
    public static let readOnlyFilesystem = Errno(rawValue: EROFS)
}

extension Errno {
    /// `catch Errno.x` and `case Errno.x` match an `Errno` or a `SystemError` carrying it.
    public static func ~= (pattern: Errno, error: any Error) -> Bool {
        switch error {
        case let errno as Errno: return errno == pattern
        case let error as SystemError: return error.errno == pattern
        default: return false
        }
    }
}
