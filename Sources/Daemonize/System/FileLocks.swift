package import Glibc

/// The kernel's table of file locks (`/proc/locks`), read without taking any
/// lock: asking who holds a pidfile can never make a concurrent acquire fail.
package enum FileLocks {
    /// A file, named as `/proc/locks` names it.
    package struct FileID: Hashable, Sendable {
        package var device: UInt64
        package var inode: UInt64

        /// The identity of the file `st` describes.
        package init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
        }

        package init(device: UInt64, inode: UInt64) {
            self.device = device
            self.inode = inode
        }

        var major: UInt64 { ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff) }
        var minor: UInt64 { (device & 0xff) | ((device >> 12) & ~0xff) }
    }

    /// Who holds an exclusive `flock` on `file`.
    package enum Holder: Hashable, Sendable {
        /// Nobody: the file is not locked.
        case none
        /// Locked; the pid is the process that took the lock (nil when it is
        /// not visible from this pid namespace).
        case process(pid_t?)
    }

    /// Whether `file` carries an exclusive `flock`, and by whom.
    package static func flockHolder(of file: FileID) -> Holder {
        guard let table = try? FileSystem.read("/proc/locks", limit: 1 << 26) else {
            return .none
        }
        return holder(of: file, in: table)
    }

    /// True when process `pid` holds an exclusive `flock` on `file` through one
    /// of its own descriptors, as `/proc/PID/fdinfo` shows it. Unlike
    /// `/proc/locks`, this never waits for an RCU grace period.
    package static func holdsExclusiveLock(pid: pid_t, on file: FileID) -> Bool {
        guard pid > 0 else { return false }
        for fd in ProcessTable.openDescriptors(of: pid) {
            var st = stat()
            guard "/proc/\(pid)/fd/\(fd)".withPlatformString({ stat($0, &st) }) == 0, FileID(st) == file else { continue }
            guard let info = try? FileSystem.read("/proc/\(pid)/fdinfo/\(fd)", limit: 65536) else { continue }
            for line in info.split(separator: 10) where line.starts(with: "lock:".utf8) {
                let fields = line.split(separator: UInt8(ascii: " "))
                if fields.contains(where: { $0.elementsEqual("FLOCK".utf8) }) && fields.contains(where: { $0.elementsEqual("WRITE".utf8) })
                    && !fields.contains(where: { $0.elementsEqual("->".utf8) }) {
                    return true
                }
            }
        }
        return false
    }

    /// Every process that holds the exclusive `flock` on `file` through one of
    /// its descriptors (processes that inherited the locked descriptor share
    /// it). Looks through every process's descriptors: for the rare case where
    /// the process that took the lock is gone and others still hold it.
    package static func holders(of file: FileID) -> [pid_t] {
        ProcessTable.allPIDs().filter { holdsExclusiveLock(pid: $0, on: file) }
    }

    /// Finds the holder of `file` in the text of `/proc/locks`.
    static func holder(of file: FileID, in table: [UInt8]) -> Holder {
        // "1: FLOCK  ADVISORY  WRITE 2024 fe:00:16220216 0 EOF"; blocked
        // waiters read "1: -> FLOCK ..." and are not holders.
        let wanted = Array("\(hex(file.major)):\(hex(file.minor)):\(file.inode)".utf8)
        for line in table.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: " "))
            guard fields.count >= 6, fields[1].elementsEqual("FLOCK".utf8), fields[3].elementsEqual("WRITE".utf8) else { continue }
            guard fields[5].elementsEqual(wanted) else { continue }
            let pid = pid_t(String(decoding: fields[4], as: UTF8.self))
            return .process(pid.flatMap { $0 > 0 ? $0 : nil })
        }
        return .none
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return digits.count < 2 ? "0" + digits : digits
    }
}
