internal import Glibc

/// A descriptor the supervisor writes to without ever blocking its loop: its
/// own standard output or error under `swiftd run`, which may be a pipe or a
/// terminal nobody reads. A full output must not keep it from handling TERM.
///
/// `O_NONBLOCK` belongs to the open file description, which the caller and
/// the service share: setting it on the inherited descriptor would make the
/// service's own writes fail. So a pipe or terminal is opened again (through
/// `/proc/self/fd`) as a description of our own; a socket takes
/// `MSG_DONTWAIT` on each send; a regular file never blocks.
struct NonBlockingOutput {
    private enum Kind { case plain, socket }

    /// What to write to, and to poll for `POLLOUT` when a write would block.
    let descriptor: FileDescriptor
    private let kind: Kind

    init(_ fd: FileDescriptor) {
        guard let st = try? fd.status() else {
            descriptor = fd
            kind = .plain
            return
        }
        switch st.st_mode & S_IFMT {
        case S_IFSOCK:
            descriptor = fd
            kind = .socket
        case S_IFIFO, S_IFCHR:
            descriptor = (try? FileDescriptor.open("/proc/self/fd/\(fd.rawValue)", O_WRONLY | O_APPEND | O_NOCTTY | O_NONBLOCK)) ?? fd
            kind = .plain
        default:
            descriptor = fd
            kind = .plain
        }
    }

    /// Writes what fits now: the number of bytes written, 0 when the output
    /// is full. Throws on any other failure.
    ///
    /// The corresponding C functions are `write` and `send`.
    func write(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        do {
            switch kind {
            case .plain: return try descriptor.write(bytes)
            case .socket: return try descriptor.send(bytes, flags: Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
        } catch let error as SystemError where error.errno == .wouldBlock {
            return 0
        }
    }
}
