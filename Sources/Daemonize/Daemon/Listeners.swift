internal import Glibc

/// Sockets passed by systemd's socket-activation protocol: descriptors 3,
/// 4, ... with `LISTEN_FDS` (how many), `LISTEN_PID` (the process they are
/// for) and `LISTEN_FDNAMES` (their names, ":"-separated). swiftd's
/// `--listen` passes them this way, as systemd's `.socket` units do; a
/// server that takes its sockets from here keeps them across restarts, and
/// no connection is refused while it restarts. sd_listen_fds(3) and
/// sd_listen_fds_with_names(3) are the C equivalents.
public enum Listeners {
    /// A socket passed to this process.
    public struct Socket: Hashable, Sendable {
        /// The descriptor (3 for the first).
        public let descriptor: CInt
        /// Its name from `LISTEN_FDNAMES`, or "unknown" when none was given
        /// (as sd_listen_fds_with_names(3) says).
        public let name: String

        /// A socket `descriptor` named `name`.
        public init(descriptor: CInt, name: String) {
            self.descriptor = descriptor
            self.name = name
        }
    }

    /// The sockets passed to this process, in order; empty when none were
    /// (no `LISTEN_FDS`, or a `LISTEN_PID` that names another process: the
    /// variables were meant for a parent). Each is made close-on-exec, as
    /// sd_listen_fds(3) does.
    ///
    /// - Parameter removingVariables: Removes `LISTEN_PID`, `LISTEN_FDS` and
    ///   `LISTEN_FDNAMES` from the environment (`unsetenv`, which no other
    ///   thread may be using meanwhile), so that a child does not take the
    ///   sockets for its own; true by default, as sd_listen_fds(1) is usually called.
    /// - Throws: `SystemError` with `EINVAL` for a malformed `LISTEN_FDS`,
    ///   `EBADF` when one of the descriptors is not open.
    public static func inherited(removingVariables: Bool = true) throws -> [Socket] {
        defer {
            if removingVariables {
                for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] { Environment.set(name, to: nil) }
            }
        }
        guard let pidText = Environment.value("LISTEN_PID"), let countText = Environment.value("LISTEN_FDS") else { return [] }
        guard pid_t(pidText) == CurrentProcess.id else { return [] }
        guard let count = Int32(countText), count >= 0, count <= 4096 else { throw SystemError("LISTEN_FDS", path: countText, errno: .invalid) }
        var names = Environment.value("LISTEN_FDNAMES").map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) } ?? []
        if names.count != Int(count) { names = Array(repeating: "unknown", count: Int(count)) }
        var sockets: [Socket] = []
        for index in 0..<count {
            let descriptor = FileDescriptor(rawValue: 3 + index)
            guard descriptor.isOpen else { throw SystemError("LISTEN_FDS", path: "descriptor \(3 + index)", errno: .badDescriptor) }
            try descriptor.setCloseOnExec(true)
            sockets.append(Socket(descriptor: 3 + index, name: names[Int(index)]))
        }
        return sockets
    }
}
