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
    /// How many threads it has (1 for most: their children are all in one
    /// `task/PID/children` file).
    package var threads: Int

    /// True for a zombie (exited, not yet reaped) or a dead entry.
    package var isZombie: Bool { state == UInt8(ascii: "Z") || state == UInt8(ascii: "X") }

    /// Parses the text of `/proc/PID/stat`; nil when malformed.
    package init?(parsing bytes: [UInt8]) {
        guard let parsed = bytes.withUnsafeBufferPointer({ ProcessStat(parsing: $0) }) else { return nil }
        self = parsed
    }

    /// Parses the text of `/proc/PID/stat` in place (no copy, no String but
    /// the name: a scan of the process table parses thousands); nil when malformed.
    package init?(parsing bytes: UnsafeBufferPointer<UInt8>) {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")), close > open,
              let pid = ProcessStat.number(bytes, from: 0, to: open) else { return nil }
        // After the name: field 3 (state), then numbers each after one
        // space: 4 ppid, 5 pgrp, 6 session, 7 tty_nr, ... 20 num_threads, 22 starttime.
        var i = close + 2
        guard i < bytes.count else { return nil }
        let state = bytes[i]
        i += 1
        var values = (parent: Int64(0), group: Int64(0), session: Int64(0), terminal: Int64(0), threads: Int64(0), start: Int64(-1))
        var field = 4
        while field <= 22 && i < bytes.count && bytes[i] == UInt8(ascii: " ") {
            var end = i + 1
            while end < bytes.count && bytes[end] != UInt8(ascii: " ") && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            guard let value = ProcessStat.number(bytes, from: i + 1, to: end) else { return nil }
            switch field {
            case 4: values.parent = value
            case 5: values.group = value
            case 6: values.session = value
            case 7: values.terminal = value
            case 20: values.threads = value
            case 22: values.start = value
            default: break
            }
            field += 1
            i = end
        }
        guard field == 23, values.threads >= 0, values.start >= 0 else { return nil }
        self.pid = pid_t(truncatingIfNeeded: pid)
        self.name = String(decoding: UnsafeBufferPointer(rebasing: bytes[(open + 1)..<close]), as: UTF8.self)
        self.state = state
        self.parent = pid_t(truncatingIfNeeded: values.parent)
        self.processGroup = pid_t(truncatingIfNeeded: values.group)
        self.session = pid_t(truncatingIfNeeded: values.session)
        self.terminal = values.terminal
        self.threads = Int(values.threads)
        self.startTime = UInt64(values.start)
    }

    /// The decimal number (a leading minus allowed, spaces around it skipped)
    /// in `bytes[from..<to]`; nil when there is none or something else.
    private static func number(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int64? {
        var i = from
        var end = to
        while i < end && bytes[i] == UInt8(ascii: " ") { i += 1 }
        while end > i && bytes[end - 1] == UInt8(ascii: " ") { end -= 1 }
        let negative = i < end && bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        guard i < end, end - i <= 19 else { return nil }
        var value: Int64 = 0
        while i < end {
            let digit = bytes[i] &- UInt8(ascii: "0")
            guard digit <= 9 else { return nil }
            value = value * 10 + Int64(digit)
            i += 1
        }
        return negative ? -value : value
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
        try withStatLine(at: "/proc/\(pid)/stat", in: AT_FDCWD) { ProcessStat(parsing: $0) } ?? nil
    }

    /// Reads the stat line at `path` (relative to `directory`) in one
    /// `read`, into a buffer on the stack, and hands it to `body`; nil when
    /// the process is gone. Three system calls: open, read, close.
    ///
    /// The corresponding C functions are `openat` and `read`.
    static func withStatLine<T>(at path: String, in directory: Int32, _ body: (UnsafeBufferPointer<UInt8>) -> T) throws -> T? {
        let fd = path.withPlatformString { name in retryingOnInterrupt { openat(directory, name, O_RDONLY | O_CLOEXEC | O_NOCTTY) } }
        if fd < 0 {
            let error = SystemError("open", path: path)
            if error.errno == .noSuchFile || error.errno == .noSuchProcess { return nil }
            throw error
        }
        let descriptor = FileDescriptor(rawValue: fd)
        defer { descriptor.close() }
        // A stat line is about 300 bytes and never near 4,096: one read is all of it.
        return try withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 1) { buffer in
            let n: Int
            do {
                n = try descriptor.read(into: buffer)
            } catch let error as SystemError where error.errno == .noSuchProcess {
                return nil
            }
            return body(UnsafeBufferPointer(start: buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), count: n))
        }
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
    /// With `threads` 1 (from its stat line) the one file is read without
    /// listing the tasks.
    package static func children(of pid: pid_t, threads: Int? = nil) -> [pid_t] {
        let tasks = threads == 1 ? ["\(pid)"] : entries(of: "/proc/\(pid)/task")
        var result: [pid_t] = []
        for task in tasks {
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
