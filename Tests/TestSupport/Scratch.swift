import Glibc
import Daemonize

/// A fresh temporary directory for one test, and the cleanup of every process
/// the test started: each is marked through its environment
/// (`SWIFTD_TEST_MARK=<directory>`), and `cleanup()` kills every process that
/// carries the mark, whatever became of its parent.
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
    }

    /// `name` inside the directory.
    package func file(_ name: String) -> String { Path.join(path, name) }

    /// The caller's environment plus the mark.
    package var environment: [String] {
        Environment.setting("SWIFTD_TEST_MARK", to: path, in: Environment.current())
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
        removeTree(path)
    }

    private func removeTree(_ path: String) {
        guard let st = try? FileSystem.linkStatus(path) else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            for name in ProcessTable.entries(of: path) { removeTree(Path.join(path, name)) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
