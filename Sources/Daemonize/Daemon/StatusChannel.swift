internal import Glibc

/// The close-on-exec pipe from a daemon back to the process that started it.
///
/// Records are small (at most a few KiB, so each write is atomic): the
/// daemon's pid, then one report: ready or failed, with an exit code and a
/// message for the original process to print.
enum StatusChannel {
    enum Record: Equatable {
        case pid(pid_t)
        case ready(code: Int32, message: String)
        case failed(code: Int32, message: String)
    }

    /// Longest message sent: keeps every record under PIPE_BUF.
    static let messageLimit = 3000

    /// Writes `record`; a reader that has gone away is not an error.
    static func write(_ record: Record, to fd: FileDescriptor) {
        var kind: UInt8
        var code: Int32 = 0
        var message: [UInt8] = []
        switch record {
        case .pid(let pid): kind = UInt8(ascii: "P"); code = pid
        case .ready(let c, let m): kind = UInt8(ascii: "R"); code = c; message = Array(m.utf8.prefix(messageLimit))
        case .failed(let c, let m): kind = UInt8(ascii: "F"); code = c; message = Array(m.utf8.prefix(messageLimit))
        }
        var bytes: [UInt8] = [kind]
        withUnsafeBytes(of: code.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt32(message.count).littleEndian) { bytes += $0 }
        bytes += message
        // The reader may be gone (killed): never die of SIGPIPE for it.
        CurrentProcess.ignoringBrokenPipes { try? fd.writeAll(bytes) }
    }

    /// The next record, or nil at end of file (or on a truncated record).
    static func read(from fd: FileDescriptor) -> Record? {
        guard let header = readExactly(9, from: fd) else { return nil }
        let code = header[1..<5].withUnsafeBytes { Int32(littleEndian: $0.loadUnaligned(as: Int32.self)) }
        let length = header[5..<9].withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
        guard length <= UInt32(messageLimit * 4), let body = readExactly(Int(length), from: fd) else { return nil }
        let message = String(decoding: body, as: UTF8.self)
        switch header[0] {
        case UInt8(ascii: "P"): return .pid(code)
        case UInt8(ascii: "R"): return .ready(code: code, message: message)
        case UInt8(ascii: "F"): return .failed(code: code, message: message)
        default: return nil
        }
    }

    private static func readExactly(_ count: Int, from fd: FileDescriptor) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = (try? bytes.withUnsafeMutableBytes { try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[got...])) }) ?? 0
            if n <= 0 { return nil }
            got += n
        }
        return bytes
    }
}
