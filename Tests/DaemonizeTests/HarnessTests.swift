import Glibc
import Daemonize
import TestSupport
import Testing

/// The test harness's own promise: every process a test started is killed,
/// even when the test runner died before its cleanup could run.
@Suite(.hangLimit) struct HarnessTests {
    let fixture = product("fixture")

    /// A process left by a runner that is gone (a trap ends the whole runner)
    /// is killed by the next runner's sweep, and its directory removed; a
    /// process of a live runner is left alone.
    @Test func processesOfADeadRunnerAreSweptAndALiveRunnersAreNot() throws {
        try withScratch("sweep") { scratch throws in
            var template = Array("/tmp/swiftd-sweep-left-XXXXXX".utf8CString)
            let left = try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) })
            // This very pid with a start time it never had: a runner that is gone.
            let deadRunner = Environment.setting("SWIFTD_TEST_RUNNER", to: "\(getpid()):1",
                                                 in: Environment.setting("SWIFTD_TEST_MARK", to: left, in: scratch.environment))
            let orphan = try Spawned.start(fixture, ["service"], environment: deadRunner)
            defer { orphan.signal(SIGKILL); _ = orphan.wait(timeout: 10) }
            let live = try Spawned.start(fixture, ["service"], environment: scratch.environment)
            defer { live.signal(SIGKILL); _ = live.wait(timeout: 10) }
            // Both have their environment (past execve) before the sweep looks.
            #expect(scratch.markedProcesses().contains(live.pid))
            let deadline = Monotonic.now() + 5_000_000_000
            while (try? FileSystem.read("/proc/\(orphan.pid)/environ", limit: 1 << 20))?.isEmpty ?? true, Monotonic.now() < deadline {
                Monotonic.sleep(nanoseconds: 1_000_000)
            }

            #expect(Scratch.sweepLeftovers() >= 1)
            let ended = orphan.wait(timeout: 10)
            #expect(!ended.timedOut && ended.status == .signaled(.kill, coreDumped: false), "\(ended)")
            #expect(!FileSystem.exists(left), "the dead runner's directory is removed")
            #expect(scratch.markedProcesses() == [live.pid], "the live runner's process is left alone")
        }
    }
}
