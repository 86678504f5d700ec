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
    package func markedProcesses() -> [pid_t] {
        let needle = Array(mark.utf8)
        return ProcessTable.allPIDs().filter { pid in
            guard pid != getpid(), let environ = try? FileSystem.read("/proc/\(pid)/environ", limit: 1 << 20) else { return false }
            if let st = ProcessTable.stat(of: pid), st.isZombie { return false }
            return environ.split(separator: 0).contains { $0.elementsEqual(needle) }
        }
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
