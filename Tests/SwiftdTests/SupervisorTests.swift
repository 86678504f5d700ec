import Glibc
import Daemonize
import TestSupport
import Testing

/// The supervisor: respawn policy, restart requests, readiness, whole-tree stop, idle cost.
@Suite(.hangLimit) struct SupervisorTests {
    /// (event, pid, monotonic ns) lines the fixture's --stamp writes.
    func stamps(_ h: Harness, _ file: String = "stamps") -> [(String, pid_t, Int64)] {
        h.text(file).split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, let pid = pid_t(parts[1]), let t = Int64(parts[2]) else { return nil }
            return (String(parts[0]), pid, t)
        }
    }

    /// The delay before each respawn doubles from --restart-delay up to
    /// --restart-max-delay, as the log says before each one; and each
    /// respawn it announces happens.
    @Test func backoffBetweenRespawnsDoublesUpToTheMaximum() throws {
        try withHarness("backoff") { h throws in
            let start = try h.startService("flaky", ["--restart-delay", "100ms", "--restart-max-delay", "400ms", "--start-limit", "none"],
                                           service: ["--exit", "1", "--after", "150", "--stamp", h.scratch.file("stamps")])
            #expect(start.code == 0, "\(start)")
            func delays() -> [String] {
                h.log("flaky").split(separator: "\n").compactMap { $0.hasPrefix("swiftd: restarting in ") ? String($0.dropFirst(22)) : nil }
            }
            #expect(eventually(timeout: 30) { delays().count >= 5 }, "\(h.log("flaky"))")
            #expect(delays().prefix(5) == ["100ms", "200ms", "400ms", "400ms", "400ms"], "\(h.log("flaky"))")
            #expect(eventually(timeout: 30) { stamps(h).filter { $0.0 == "start" }.count >= 6 }, "every announced respawn happens: \(h.text("stamps"))")
            #expect(try h.swiftd(["stop", "flaky"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func startLimitGivesUpWithARecordThatStartClears() throws {
        try withHarness("give-up") { h throws in
            let start = try h.startService("doomed", ["--restart-delay", "0", "--start-limit", "3/60s"],
                                           service: ["--exit", "2", "--after", "150", "--stamp", h.scratch.file("stamps")])
            #expect(start.code == 0, "\(start)")
            #expect(eventually(timeout: 20) { h.state("doomed")?.phase == .failed })
            #expect(stamps(h).filter { $0.0 == "start" }.count == 3, "3/60s allows 3 starts, the first one included: \(h.text("stamps"))")
            #expect(eventually { PIDFile.status(at: h.pidFile("doomed")) == .absent }, "the lock is released")
            let status = try h.swiftd(["status", "doomed"])
            #expect(status.code == 1, "\(status)")
            #expect(status.stdout == "doomed: failed: 3 starts in 1m, last exit status 2\n")
            #expect(h.state("doomed")?.failure == "failed: 3 starts in 1m, last exit status 2")
            #expect(h.scratch.markedProcesses().isEmpty, "the supervisor exits when it gives up")

            let again = try h.startService("doomed")
            #expect(again.code == 0, "\(again)")
            #expect(try h.swiftd(["status", "doomed"]).code == 0)
            #expect(h.state("doomed")?.failure == nil)
        }
    }

    @Test func restartExitCodeRespawnsAtOnceOutsideTheLimit() throws {
        try withHarness("exit75") { h throws in
            let once = h.scratch.file("once")
            let start = try h.startService("update", ["--start-limit", "1/60s", "--restart-delay", "30s"],
                                           service: ["--exit", "75", "--after", "200", "--once", once])
            #expect(start.code == 0, "\(start)")
            let first = try #require(h.pid("update"))
            #expect(eventually { h.pid("update").map { $0 != first } ?? false })
            #expect(try h.swiftd(["status", "update"]).code == 0)
            #expect(h.state("update")?.restarts == 1)
            #expect(h.log("update").contains("restart requested (exit status 75): restarting now"))
        }
    }

    @Test func restartExitCodeIsTheOnlyRespawnWithRestartNo() throws {
        try withHarness("exit75-no") { h throws in
            let once = h.scratch.file("once")
            #expect(try h.startService("once", ["--restart", "no"], service: ["--exit", "75", "--after", "200", "--once", once]).code == 0)
            let first = try #require(h.pid("once"))
            #expect(eventually { h.pid("once").map { $0 != first } ?? false }, "exit 75 respawns even with --restart no")
            #expect(eventually { h.state("once")?.restarts == 1 })
            // The second run exits 1: with --restart no, that is the end.
            #expect(try h.startService("fails", ["--restart", "no"], service: ["--exit", "1", "--after", "200"]).code == 0)
            #expect(eventually { h.state("fails")?.phase == .exited })
        }
    }

    @Test func restartExitCodeNoneTurnsItOff() throws {
        try withHarness("exit75-none") { h throws in
            #expect(try h.startService("once", ["--restart", "no", "--restart-exit-code", "none"], service: ["--exit", "75", "--after", "200"]).code == 0)
            #expect(eventually { h.state("once")?.phase == .exited })
            let status = try h.swiftd(["status", "once"])
            #expect(status.code == 1, "a non-zero exit is a failure record: \(status)")
            #expect(status.stdout == "once: exited with status 75\n")
        }
    }

    @Test func cleanExitWithRestartNoIsNotRunning() throws {
        try withHarness("exit0-no") { h throws in
            #expect(try h.startService("job", ["--restart", "no"], service: ["--exit", "0", "--after", "200"]).code == 0)
            #expect(eventually { h.state("job")?.phase == .exited })
            let status = try h.swiftd(["status", "job"])
            #expect(status.code == 3, "\(status)")
        }
    }

    @Test func alwaysRespawnsEvenACleanExit() throws {
        try withHarness("always") { h throws in
            #expect(try h.startService("loop", ["--restart", "always", "--restart-delay", "0"], service: ["--exit", "0", "--after", "200"]).code == 0)
            #expect(eventually { (h.state("loop")?.restarts ?? 0) >= 2 })
        }
    }

    @Test func notifyReadiness() throws {
        try withHarness("notify") { h throws in
            let start = try h.startService("n", ["--ready", "notify"], service: ["--notify-ready-after", "300", "--notify-status", "warming up"])
            #expect(start.code == 0, "\(start)")
            #expect(h.log("n").contains("n is ready"))
            let status = try h.swiftd(["status", "n"])
            #expect(status.stdout.hasSuffix(": \"warming up\"\n"), "\(status)")
            #expect(try h.swiftd(["status", "n", "--json"]).stdout.contains("\"status_text\":\"warming up\""))
        }
    }

    @Test func notifyErrnoFailsTheStart() throws {
        try withHarness("notify-errno") { h throws in
            let start = try h.startService("n", ["--ready", "notify"], service: ["--notify-errno", "98"])
            #expect(start.code == 1, "\(start)")
            #expect(start.stderr.contains("reported errno 98 (Address already in use)"), "\(start)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func neverReadyIsStoppedNotLeftHalfStarted() throws {
        try withHarness("notify-never") { h throws in
            let start = try h.startService("n", ["--ready", "notify", "--ready-timeout", "500ms", "--stop-timeout", "300ms"],
                                           service: ["--ignore-term"])
            #expect(start.code == 1, "\(start)")
            #expect(start.stderr.contains("not ready after 500ms"))
            #expect(h.scratch.markedProcesses().isEmpty)
            #expect(PIDFile.status(at: h.pidFile("n")) == .absent)
        }
    }

    @Test func descriptorReadiness() throws {
        try withHarness("fd-ready") { h throws in
            let start = try h.startService("f", ["--ready", "fd:5"], service: ["--fd-ready", "5", "--fd-ready-after", "200"])
            #expect(start.code == 0, "\(start)")
            let never = try h.startService("g", ["--ready", "fd:5", "--ready-timeout", "400ms"], service: [])
            #expect(never.code == 1, "\(never)")
            #expect(never.stderr.contains("not ready after 400ms"))
        }
    }

    @Test func grandchildThatLeftTheGroupIsStoppedToo() throws {
        try withHarness("grandchild") { h throws in
            let file = h.scratch.file("grandchild")
            #expect(try h.startService("tree", service: ["--double-fork", file]).code == 0)
            #expect(eventually { !h.text("grandchild").isEmpty })
            let grandchild = try #require(h.text("grandchild").split(separator: "\n").first.flatMap { pid_t($0) })
            let main = try #require(h.pid("tree"))
            let st = try #require(ProcessTable.stat(of: grandchild))
            #expect(st.session != main, "it left the service's session")
            #expect(st.parent == h.lockHolder("tree"), "and was adopted by the supervisor (a subreaper)")
            #expect(try h.swiftd(["stop", "tree"]).code == 0)
            #expect(!h.isAlive(grandchild))
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func quietSupervisorDoesNotWakeUp() throws {
        try withHarness("idle") { h throws in
            #expect(try h.startService("quiet").code == 0)
            let supervisor = try #require(h.lockHolder("quiet"))
            func switches() -> String {
                let status = String(decoding: (try? FileSystem.read("/proc/\(supervisor)/status")) ?? [], as: UTF8.self)
                return status.split(separator: "\n").filter { $0.contains("ctxt_switches") }.joined(separator: " ")
            }
            Monotonic.sleep(nanoseconds: 300_000_000)
            let before = switches()
            Monotonic.sleep(nanoseconds: 2_000_000_000)
            #expect(switches() == before)
            #expect(!before.isEmpty)
        }
    }
}

/// sd_notify MAINPID= and a log on a full file system.
@Suite(.hangLimit) struct SupervisorEdgeTests {
    @Test func mainPIDHandoverIsFollowedWithoutARestart() throws {
        try withHarness("mainpid") { h throws in
            let signals = h.scratch.file("signals")
            let start = try h.startService("fork", ["--ready", "notify"], service: ["--handover", "--record-signals", signals])
            #expect(start.code == 0, "\(start)")
            #expect(eventually { (h.log("fork")).contains("its main process is now") })
            let heir = try #require(h.pid("fork"))
            #expect(h.isAlive(heir))
            #expect(ProcessTable.stat(of: heir)?.parent == h.lockHolder("fork"))
            #expect(h.state("fork")?.restarts == 0)
            #expect(try h.swiftd(["status", "fork"]).code == 0)
            #expect(try h.swiftd(["signal", "fork", "USR1"]).code == 0)
            #expect(eventually { h.text("signals").contains("USR1") })
            #expect(try h.swiftd(["stop", "fork"]).code == 0)
            #expect(!h.isAlive(heir))
        }
    }

    @Test(.requires(.root))
    func fullDiskDropsLinesAndSaysSoWhenSpaceReturns() throws {
        try withHarness("log-full") { h throws in
            try FileSystem.makeDirectories(h.logDirectory, mode: 0o755)
            #expect(mount("tmpfs", h.logDirectory, "tmpfs", 0, "size=64k") == 0, "mount: \(Errno.current)")
            defer { umount2(h.logDirectory, Int32(MNT_DETACH)) }
            // Lines longer than a page: each needs space the full file system does not have.
            let signals = h.scratch.file("signals")
            #expect(try h.startService("full", ["--ready", "fd:9"], service: ["--print-on-signal", "--print-size", "5000", "--record-signals", signals,
                                                                            "--fd-ready", "9"]).code == 0)
            let pid = try #require(h.pid("full"))
            // Fill the file system to the last byte.
            let filler = Path.join(h.logDirectory, "filler")
            let fd = open(filler, O_WRONLY | O_CREAT, 0o644)
            let block = [UInt8](repeating: 65, count: 4096)
            while write(fd, block, block.count) > 0 {}
            while write(fd, block, 1) > 0 {}
            close(fd)
            // One at a time: two USR1 pending at once are one (it records each, then prints its line).
            for sent in 1...3 {
                #expect(try h.swiftd(["signal", "full", "USR1"]).code == 0)
                #expect(eventually { h.text("signals").split(separator: "\n").filter { $0 == "USR1" }.count == sent }, "USR1 number \(sent) taken")
            }
            #expect(eventually { h.state("full")?.droppedLines == 3 }, "dropped lines are counted")
            #expect(try h.swiftd(["status", "full", "--json"]).stdout.contains("\"dropped_log_lines\":3"))
            #expect(h.isAlive(pid), "a full disk never stops the service")
            unlink(filler)
            #expect(try h.swiftd(["signal", "full", "USR2"]).code == 0)
            #expect(eventually { h.log("full").contains("got USR2") })
            let log = h.log("full")
            #expect(log.contains("swiftd: dropped 3 lines (No space left on device)"), "\(log)")
            #expect(!log.contains("got USR1"))
            #expect(h.isAlive(pid))
        }
    }
}
