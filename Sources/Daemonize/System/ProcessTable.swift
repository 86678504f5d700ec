package import Glibc

/// One line of `/proc/PID/stat`: the fields swiftd needs.
package struct ProcessStat: Hashable, Sendable {
    package var pid: pid_t
    /// The command name (at most 15 bytes), without parentheses.
    package var name: String
    /// "R", "S", "Z"...
    package var state: UInt8
    package var parent: pid_t
    package var processGroup: pid_t
    package var session: pid_t
    /// The controlling terminal's device number; 0 for none.
    package var terminal: Int64
    /// Start time in clock ticks since boot: with the pid, names one process for ever.
    package var startTime: UInt64

    /// True for a zombie (exited, not yet reaped) or a dead entry.
    package var isZombie: Bool { state == UInt8(ascii: "Z") || state == UInt8(ascii: "X") }

    /// Parses the text of `/proc/PID/stat`; nil when malformed.
    package init?(parsing bytes: [UInt8]) {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")), close > open,
              let pid = pid_t(String(decoding: bytes[..<open], as: UTF8.self).trimmingSpaces) else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        // fields[0] is field 3 (state); starttime is field 22.
        guard fields.count >= 20, let state = fields[0].first,
              let parent = pid_t(String(decoding: fields[1], as: UTF8.self)),
              let group = pid_t(String(decoding: fields[2], as: UTF8.self)),
              let session = pid_t(String(decoding: fields[3], as: UTF8.self)),
              let terminal = Int64(String(decoding: fields[4], as: UTF8.self)),
              let start = UInt64(String(decoding: fields[19], as: UTF8.self)) else { return nil }
        self.pid = pid
        self.name = String(decoding: bytes[(open + 1)..<close], as: UTF8.self)
        self.state = state
        self.parent = parent
        self.processGroup = group
        self.session = session
        self.terminal = terminal
        self.startTime = start
    }
}

/// What `/proc` says about processes. Facts for tests and for stop; never a
/// liveness proof for a service (the pidfile lock is that).
package enum ProcessTable {
    /// Now, in the unit and from the origin of `ProcessStat.startTime`
    /// (clock ticks since boot): a process that starts later never has a
    /// smaller start time than this.
    package static func ticksSinceBoot() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_BOOTTIME, &now)
        let hz = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
        return UInt64(now.tv_sec) * hz + UInt64(now.tv_nsec) * hz / 1_000_000_000
    }

    /// The stat line of `pid`, or nil when it is gone (or cannot be read).
    package static func stat(of pid: pid_t) -> ProcessStat? {
        (try? status(of: pid)) ?? nil
    }

    /// The stat line of `pid`, or nil when it is gone; a failure to tell
    /// (no descriptor left) is thrown, never taken for "gone".
    package static func status(of pid: pid_t) throws -> ProcessStat? {
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.read("/proc/\(pid)/stat", limit: 4096)
        } catch let error as SystemError where error.errno == .noSuchFile || error.errno == .noSuchProcess {
            return nil
        }
        return ProcessStat(parsing: bytes)
    }

    /// Every pid in `/proc`.
    package static func allPIDs() -> [pid_t] {
        entries(of: "/proc").compactMap { pid_t($0) }
    }

    /// The names in directory `path` ("." and ".." left out); empty when unreadable.
    package static func entries(of path: String) -> [String] {
        var names: [String] = []
        forEachEntry(of: path) { names.append(String(platformBytes: $0)) }
        return names
    }

    /// Hands `body` the bytes of each name in directory `path` ("." and ".."
    /// left out), valid only during the call: a caller that keeps few of
    /// them (`knownServices`) makes no String of the others.
    package static func forEachEntry(of path: String, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        guard let dir = path.withPlatformString(opendir) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: UInt8.self, capacity: 256) { start in
                    let name = UnsafeBufferPointer(start: start, count: strlen(UnsafeRawPointer(start).assumingMemoryBound(to: CChar.self)))
                    if !name.elementsEqual(".".utf8) && !name.elementsEqual("..".utf8) { body(name) }
                }
            }
        }
    }

    /// How many threads the calling process has.
    package static func threadCount() -> Int {
        entries(of: "/proc/self/task").count
    }

    /// The direct children of `pid` (zombies included), from `/proc/PID/task/*/children`.
    package static func children(of pid: pid_t) -> [pid_t] {
        var result: [pid_t] = []
        for task in entries(of: "/proc/\(pid)/task") {
            guard let bytes = try? FileSystem.read("/proc/\(pid)/task/\(task)/children", limit: 1 << 20) else { continue }
            result += bytes.split(separator: UInt8(ascii: " ")).compactMap { pid_t(String(decoding: $0, as: UTF8.self).trimmingSpaces) }
        }
        return result
    }

    /// Every live (not zombie) process whose process group is `group`.
    package static func members(ofGroup group: pid_t) -> [pid_t] {
        allPIDs().filter { pid in
            guard let st = stat(of: pid) else { return false }
            return st.processGroup == group && !st.isZombie
        }
    }

    /// Every live (not zombie) process in session `session`.
    package static func members(ofSession session: pid_t) -> [pid_t] {
        allPIDs().filter { pid in
            guard let st = stat(of: pid) else { return false }
            return st.session == session && !st.isZombie
        }
    }

    /// The open descriptor numbers of `pid` (of this process by default; the
    /// descriptor used to list them is left out).
    package static func openDescriptors(of pid: pid_t? = nil) -> [Int32] {
        let path = pid.map { "/proc/\($0)/fd" } ?? "/proc/self/fd"
        guard let dir = path.withPlatformString(opendir) else { return [] }
        defer { closedir(dir) }
        let own = pid == nil ? dirfd(dir) : -1
        var result: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(platformString: $0) }
            }
            if let fd = Int32(name), fd != own { result.append(fd) }
        }
        return result.sorted()
    }
}
