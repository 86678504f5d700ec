internal import Glibc

/// The exit codes of the LSB init-script conventions, as DESIGN.md assigns them.
package enum ExitCode {
    /// start/stop: done (or nothing to do); status: running.
    package static let success: Int32 = 0
    /// start: failed to start; stop: could not stop; status: dead with a pidfile or failure record.
    package static let failure: Int32 = 1
    /// Bad usage: unknown option, bad value, bad name.
    package static let usage: Int32 = 2
    /// status: not running.
    package static let notRunning: Int32 = 3
    /// start/stop: no permission; status: unknown.
    package static let noPermission: Int32 = 4
    /// status: the state cannot be determined.
    package static let unknown: Int32 = 4
    /// start: the command was not found.
    package static let notFound: Int32 = 5
    /// start: the service is not configured (no command, bad config file).
    package static let notConfigured: Int32 = 6

    /// The start exit code for a failure with `errno`: permission problems are
    /// 4, a missing command 5, anything else 1.
    package static func forStart(_ errno: Errno) -> Int32 {
        switch errno {
        case .accessDenied, .notPermitted, .readOnlyFilesystem: return noPermission
        default: return failure
        }
    }
}

extension ExitCode {
    /// The exit code a command ends with for `error`: the one place where
    /// what failed becomes an LSB code. A `ServiceError` carries its own.
    package static func of(_ error: Error) -> Int32 {
        switch error {
        case let error as ServiceError: return error.code
        case let error as SystemError: return forStart(error.errno)
        case let error as LaunchError: return forLaunch(error)
        case let error as ConfigurationError: return error.origin == .commandLine ? usage : notConfigured
        case let error as InvalidFile: return forFile(error)
        case let error as ListenError: return error.errno.map(forStart) ?? failure
        default: return failure
        }
    }

    /// A failed launch: 5 command not found, 4 permission, 1 otherwise.
    static func forLaunch(_ error: LaunchError) -> Int32 {
        if (error.step == .lookup || error.step == .exec) && error.errno == .noSuchFile { return notFound }
        return forStart(error.errno)
    }

    /// A file that is not what it must be: a config file's problem is "not
    /// configured" (6); another user's file, or one others could write, is
    /// refused (4); a state file that cannot be read is "unknown" (4);
    /// anything else (a symlink, a FIFO) is a failure (1).
    static func forFile(_ error: InvalidFile) -> Int32 {
        if error.kind == .config { return notConfigured }
        switch error.problem {
        case .foreignOwner, .writableByOthers, .otherLinks: return noPermission
        case .malformed: return error.kind == .state ? unknown : failure
        case .unreadable(let errno): return forStart(errno)
        case .symbolicLink, .wrongType, .refusedPID, .lockedByOthers, .otherFile: return failure
        }
    }
}

/// A failed service operation: a one-line message and its exit code.
package struct ServiceError: Error, Hashable, Sendable, CustomStringConvertible {
    package var message: String
    package var code: Int32

    package init(_ message: String, code: Int32) {
        self.message = message
        self.code = code
    }

    package var description: String { message }
}
