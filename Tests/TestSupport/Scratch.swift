import Glibc
import Daemonize

/// A fresh temporary directory for one test, and the cleanup of every process
/// the test started: each is marked through its environment
/// (`SWIFTD_TEST_MARK=<directory>`), and `cleanup()` kills every process that
/// carries the mark, whatever became of its parent.
///
/// A test runner that dies before its cleanup (a trap in a test ends the
/// whole process) leaves its processes behind. So they also carry
/// `SWIFTD_TEST_RUNNER=<pid>:<start time>`, and the first scratch directory a
/// runner makes kills every marked process whose runner is gone, and removes
/// its directory (`sweepLeftovers`). A live runner's processes (another
/// `swift test` at the same time) are left alone.
package final class Scratch: @unchecked Sendable {
    /// The directory.
    package let path: String
    /// The environment entry that marks this test's processes.
    package let mark: String

    package init(_ label: String = "test") throws {
        var template = Array("/tmp/swiftd-\(label)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SystemError("mkdtemp")
        }
        path = String(cString: made)
        mark = "SWIFTD_TEST_MARK=\(path)"
        Scratch.sweptOnce
    }

    /// This runner, as its processes carry it.
    private static let runner = "\(getpid()):\(ProcessTable.stat(of: getpid())?.startTime ?? 0)"

    /// The sweep, run by the first scratch directory a runner makes.
    private static let sweptOnce: Void = { sweepLeftovers() }()

    /// Kills every marked process whose runner is gone (three rounds: one may
    /// have forked meanwhile) and removes the directories they were marked
    /// with. A process without a runner entry, or whose runner lives, is left
    /// alone. Returns how many were killed.
    @discardableResult
    package static func sweepLeftovers() -> Int {
        var killed = 0
        var directories: Set<String> = []
        for _ in 0..<3 {
            var found = 0
            for pid in ProcessTable.allPIDs() where pid != getpid() {
                guard let environ = try? FileSystem.read("/proc/\(pid)/environ", limit: 1 << 20),
                      ProcessTable.stat(of: pid)?.isZombie == false else { continue }
                var directory: String?, owner: String?
                for entry in environ.split(separator: 0) {
                    let text = String(decoding: entry, as: UTF8.self)
                    if text.hasPrefix("SWIFTD_TEST_MARK=") { directory = String(text.dropFirst("SWIFTD_TEST_MARK=".count)) }
                    if text.hasPrefix("SWIFTD_TEST_RUNNER=") { owner = String(text.dropFirst("SWIFTD_TEST_RUNNER=".count)) }
                }
                guard let directory, let owner, !isAlive(runner: owner) else { continue }
                kill(pid, SIGKILL)
                directories.insert(directory)
                found += 1
            }
            killed += found
            if found == 0 { break }
            Monotonic.sleep(nanoseconds: 20_000_000)
        }
        for directory in directories where directory.hasPrefix("/tmp/swiftd-") { removeTree(directory) }
        return killed
    }

    /// Whether the runner `pid:start time` still lives (anything unreadable counts as alive).
    private static func isAlive(runner: String) -> Bool {
        let parts = runner.split(separator: ":")
        guard parts.count == 2, let pid = pid_t(parts[0]), let start = UInt64(parts[1]) else { return true }
        if runner == Scratch.runner { return true }
        guard let st = ProcessTable.stat(of: pid) else { return false }
        return !st.isZombie && st.startTime == start
    }

    /// `name` inside the directory.
    package func file(_ name: String) -> String { Path.join(path, name) }

    /// The caller's environment plus the mark and the runner.
    package var environment: [String] {
        Environment.setting("SWIFTD_TEST_RUNNER", to: Scratch.runner,
                            in: Environment.setting("SWIFTD_TEST_MARK", to: path, in: Environment.current()))
    }

    /// Every live process carrying this test's mark.
    ///
    /// A process in the middle of `execve` shows an empty environment: the
    /// kernel lets a vfork parent (the launcher, so `start` may already have
    /// answered) go on once the new program's memory replaces the old, and
    /// fills in the environment's place a little later. Such a process (not a
    /// zombie, an executable, no environment) is read again until its
    /// environment shows, for up to a second in all: under load that window
    /// lasts milliseconds, and a process missed there is missed for good.
    package func markedProcesses() -> [pid_t] {
        let needle = Array(mark.utf8)
        let deadline = Monotonic.now() + 1_000_000_000
        return ProcessTable.allPIDs().filter { pid in
            guard pid != getpid() else { return false }
            while true {
                guard let environ = try? FileSystem.read("/proc/\(pid)/environ", limit: 1 << 20) else { return false }
                if let st = ProcessTable.stat(of: pid), st.isZombie { return false }
                if !environ.isEmpty || !Scratch.isExecuting(pid) || Monotonic.now() >= deadline {
                    return environ.split(separator: 0).contains { $0.elementsEqual(needle) }
                }
                Monotonic.sleep(nanoseconds: 1_000_000)
            }
        }
    }

    /// True when `pid` has an executable but no environment yet: inside
    /// `execve`. (A kernel thread, or a process past the release of its
    /// memory as it exits, has no executable.)
    private static func isExecuting(_ pid: pid_t) -> Bool {
        var buffer = [CChar](repeating: 0, count: 64)
        return readlink("/proc/\(pid)/exe", &buffer, buffer.count) > 0
    }

    /// Kills every marked process (until none is left), then removes the directory.
    package func cleanup() {
        for _ in 0..<50 {
            let left = markedProcesses()
            if left.isEmpty { break }
            for pid in left { kill(pid, SIGKILL) }
            Monotonic.sleep(nanoseconds: 20_000_000)
        }
        Scratch.removeTree(path)
    }

    private static func removeTree(_ path: String) {
        guard let st = try? FileSystem.linkStatus(path) else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            for name in ProcessTable.entries(of: path) { removeTree(Path.join(path, name)) }
            _ = path.withPlatformString(rmdir)
        } else {
            _ = path.withPlatformString(unlink)
        }
    }
}
