internal import Glibc

/// A failed system call: what was attempted, on which path, and the errno.
///
/// Its description reads like "open /run/swiftd/web.pid: Permission denied".
public struct SystemError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The operation, usually the C function's name ("open", "flock").
    public var operation: String
    /// The path the operation was about, when there is one.
    public var path: String?
    /// The error number (`catch Errno.x` matches it).
    public var errno: Errno

    /// An error for `operation` on `path` with the given errno.
    package init(_ operation: String, path: String? = nil, errno: Errno) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// An error for `operation` carrying the calling thread's current errno.
    package init(_ operation: String, path: String? = nil) {
        self.init(operation, path: path, errno: .current)
    }

    /// The same error, now naming `path` (when it named none).
    package func at(_ path: String) -> SystemError {
        var copy = self
        if copy.path == nil { copy.path = path }
        return copy
    }

    /// "open /run/app.pid: Permission denied": the operation, the path, the `strerror` text.
    public var description: String {
        // Every file is opened with O_NOFOLLOW: ELOOP there means a symlink was refused.
        let reason = errno == .tooManySymbolicLinks && operation == "open" ? "is a symbolic link (refused)" : errno.description
        if let path { return "\(operation) \(path): \(reason)" }
        return "\(operation): \(reason)"
    }
}

/// Calls `body` until it does not fail with EINTR. For calls that are safe to
/// repeat; never for `close`.
@inline(__always)
func retryingOnInterrupt<T: FixedWidthInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result == -1 && errno == EINTR { continue }
        return result
    }
}
