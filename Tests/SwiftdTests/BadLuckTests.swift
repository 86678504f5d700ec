import Glibc
import Daemonize
import TestSupport
import Testing

/// Bad luck (SECURITY.md): concurrent commands, a supervisor killed at any
/// moment, files deleted under a running service, too few descriptors. No
/// command signals another; `stop` says "stopped" only when nothing is left;
/// a deleted file never lets a second instance start.
@Suite(.hangLimit) struct BadLuckTests {
    /// The signals pending for `pid` (as a stopped process keeps them).
    func pendingSignals(_ pid: pid_t) -> UInt64 {
        let text = String(decoding: (try? FileSystem.read("/proc/\(pid)/status")) ?? [], as: UTF8.self)
        var mask: UInt64 = 0
        for line in text.split(separator: "\n") where line.hasPrefix("ShdPnd:") || line.hasPrefix("SigPnd:") {
            mask |= UInt64(line.split(separator: "\t").last.map(String.init) ?? "0", radix: 16) ?? 0
        }
        return mask
    }

    /// A service whose supervisor was killed and whose main process ignores
    /// TERM, with a child: what a dead supervisor leaves behind.
    func startAndOrphan(_ h: Harness, _ name: String) throws {
        #expect(try h.startService(name, ["--stop-timeout", "1s"], service: ["--ignore-term", "--fork", "1"]).code == 0)
        let supervisor = try #require(h.lockHolder(name))
        kill(supervisor, SIGKILL)
        #expect(eventually { if case .running = PIDFile.status(at: h.pidFile(name)) { return false } else { return true } })
    }

    @Test func aStopNeverSignalsAnotherStopThatHoldsTheLock() throws {
        try withHarness("bad-stops") { h throws in
            try startAndOrphan(h, "x")
            // The first stop pauses while it holds the lock to clear what is left.
            let env = h.environment(pausingAt: "clearing-leftovers")
            let first = try h.spawnSwiftd(["stop", "x"], environment: env)
            let paused = try #require(h.stoppedProcess(), "the first stop paused holding the lock")
            let second = try h.spawnSwiftd(["stop", "x"])
            // It has looked at the lock and waits: between two looks it sleeps.
            #expect(eventually(timeout: 20) { ProcFS.text("/proc/\(second.pid)/wchan").contains("nanosleep") }, "the second stop waits for the lock")
            #expect(pendingSignals(paused) & (1 << (UInt64(SIGTERM) - 1)) == 0, "the second stop signalled the first")
            #expect(second.isRunning, "the second stop waits for the lock")
            kill(paused, SIGCONT)
            let one = first.wait(timeout: 30)
            let two = second.wait(timeout: 60)
            #expect(one.code == 0 && one.stdout.contains("x stopped ("), "\(one)")
            #expect(two.code == 0, "\(two)")
            #expect(h.scratch.markedProcesses().isEmpty, "left: \(h.scratch.markedProcesses())")
            #expect(try h.swiftd(["status", "x"]).code == 3)
        }
    }

    @Test func aSupervisorKilledDuringAStopIsNoReasonToSayStopped() throws {
        try withHarness("bad-stop-killed") { h throws in
            let signals = h.scratch.file("signals")
            #expect(try h.startService("x", ["--stop-timeout", "2s"], service: ["--ignore-term", "--fork", "1", "--record-signals", signals]).code == 0)
            let supervisor = try #require(h.lockHolder("x"))
            let stop = try h.spawnSwiftd(["stop", "x"])
            #expect(eventually { h.text("signals").contains("TERM") }, "the stop began")
            kill(supervisor, SIGKILL)
            let result = stop.wait(timeout: 60)
            #expect(result.code == 0 && result.stdout.contains("x stopped"), "\(result)")
            #expect(h.scratch.markedProcesses().isEmpty, "it said stopped while \(h.scratch.markedProcesses()) run")
            let status = try h.swiftd(["status", "x"])
            #expect(status.code == 3, "\(status)")
        }
    }

    @Test func aSupervisorThatDoesNotAnswerIsKilledAndTheStopRecorded() throws {
        try withHarness("bad-stop-hung") { h throws in
            #expect(try h.startService("x", service: ["--fork", "1"]).code == 0)
            let supervisor = try #require(h.lockHolder("x"))
            kill(supervisor, SIGSTOP)
            let result = try h.swiftd(["stop", "x", "--timeout", "500ms"])
            #expect(result.code == 0 && result.stdout.contains("did not answer and was killed"), "\(result)")
            #expect(h.scratch.markedProcesses().isEmpty)
            let status = try h.swiftd(["status", "x"])
            #expect(status.code == 3 && status.stdout == "x: stopped\n", "\(status)")
        }
    }

    @Test(arguments: ["supervised", "exec"])
    func aRemovedPidfileNeverLetsASecondInstanceStart(_ mode: String) throws {
        try withHarness("bad-removed") { h throws in
            let options = mode == "exec" ? ["--no-supervise"] : []
            #expect(try h.startService("x", options).code == 0)
            let pid = try #require(h.state("x")?.pid)
            let supervisor = mode == "exec" ? nil : h.lockHolder("x")
            // Stopped, the supervisor cannot put its pidfile back yet.
            if let supervisor { kill(supervisor, SIGSTOP) }
            unlink(h.pidFile("x"))
            let status = try h.swiftd(["status", "x"])
            #expect(status.code == 0 && status.stdout.contains("running (pid \(pid))"), "\(status)")
            let again = try h.startService("x", options)
            #expect(again.code == 0 && again.stdout.contains("already running"), "\(again)")
            #expect(h.processes(named: "fixture") == [pid], "one instance: \(h.processes(named: "fixture"))")
            if let supervisor {
                kill(supervisor, SIGCONT)
                #expect(eventually { h.pid("x") == pid }, "the supervisor put its pidfile back")
                #expect(h.lockHolder("x") == supervisor)
            }
            #expect(try h.swiftd(["signal", "x", "USR1"]).code == 0)
            let stop = try h.swiftd(["stop", "x"])
            #expect(stop.code == 0 && stop.stdout == "x stopped\n", "\(stop)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func aTemporaryFileLeftByAKilledWriterNeverBlocksAStart() throws {
        try withHarness("bad-tmp") { h throws in
            try FileSystem.makeDirectories(h.runDirectory, mode: 0o755)
            // A writer killed between its create and its rename leaves .x.state.PID.tmp;
            // plant one for each of the next pids, one of which the new supervisor gets.
            let last = Int(String(decoding: try FileSystem.read("/proc/sys/kernel/ns_last_pid"), as: UTF8.self).trimmingCharacters(in: "\n")) ?? 300
            let pidMax = Int(String(decoding: try FileSystem.read("/proc/sys/kernel/pid_max"), as: UTF8.self).trimmingCharacters(in: "\n")) ?? 32768
            for k in 1...3000 {
                let pid = (last + k) % pidMax
                try FileSystem.writeAtomically(Path.join(h.runDirectory, ".x.state.\(pid).tmp"), Array("version=1\n".utf8))
            }
            for mode in [[], ["--no-supervise"]] {
                let start = try h.startService("x", mode)
                #expect(start.code == 0, "\(mode): \(start)")
                #expect(try h.swiftd(["stop", "x"]).code == 0)
            }
        }
    }

    /// Lines streaming in while the log is deleted: each is in exactly one
    /// of the two files (the test keeps the deleted one open to read it).
    @Test func aDeletedLogLosesNoLine() throws {
        try withHarness("bad-log") { h throws in
            #expect(try h.startService("x", service: ["--print-numbered", "100000", "--every", "2"]).code == 0)
            #expect(eventually { h.log("x").contains("seq 100\n") })
            let old = try FileDescriptor.open(h.logFile("x"), O_RDONLY)
            defer { old.close() }
            unlink(h.logFile("x"))
            #expect(eventually { Self.numbers(h.log("x")).count >= 200 }, "the log came back")
            #expect(try h.swiftd(["stop", "x"]).code == 0)
            let oldText = String(decoding: try old.readAll(limit: 1 << 26), as: UTF8.self)
            let all = (Self.numbers(oldText) + Self.numbers(h.log("x"))).sorted()
            #expect(!all.isEmpty && all == Array(1...(all.last ?? 1)), "every line once: \(all.count) lines up to \(all.last ?? 0)")
            #expect(h.state("x")?.droppedLines == 0)
        }
    }

    /// The first line written after the log was deleted goes to a new file,
    /// never into the deleted one (nobody could read it there).
    @Test func theFirstLineAfterTheLogWasDeletedIsInTheNewLog() throws {
        try withHarness("bad-log-next") { h throws in
            #expect(try h.startService("x", ["--ready", "fd:9"], service: ["--print-on-signal", "--fd-ready", "9"]).code == 0)
            #expect(try h.swiftd(["signal", "x", "USR1"]).code == 0)
            #expect(eventually { h.log("x").contains("got USR1\n") })
            let old = try FileDescriptor.open(h.logFile("x"), O_RDONLY)
            defer { old.close() }
            unlink(h.logFile("x"))
            #expect(try h.swiftd(["signal", "x", "USR2"]).code == 0)
            #expect(eventually { h.log("x").contains("got USR2\n") }, "the line written after the deletion is in the new log")
            let oldText = String(decoding: try old.readAll(limit: 1 << 20), as: UTF8.self)
            #expect(oldText.hasSuffix("got USR1\n") && !oldText.contains("USR2"), "\(oldText)")
            #expect(h.state("x")?.droppedLines == 0)
            #expect(try h.swiftd(["stop", "x"]).code == 0)
        }
    }

    static func numbers(_ text: String) -> [Int] {
        text.split(separator: "\n").compactMap { $0.hasPrefix("seq ") ? Int($0.dropFirst(4)) : nil }
    }

    /// `swiftd run` writing to a pipe nobody reads: TERM still stops it.
    @Test(arguments: [["--log-timestamps"], []])
    func runWithAnOutputNobodyReadsStillStopsOnTerm(_ options: [String]) throws {
        try withHarness("bad-run-full") { h throws in
            let command = h.withDirectories(["run", "x", "--stop-timeout", "500ms"] + options + ["--", h.fixturePath, "service", "--print", "100000", "--print-size", "200"])
            // stderr joins stdout on the same pipe, as in `swiftd run x 2>&1 | reader`.
            let run = try Spawned.start("/bin/sh", ["-c", "exec \"$0\" \"$@\" 2>&1", h.swiftdPath] + command, environment: h.scratch.environment, drainOutput: false)
            #expect(eventually { h.pid("x") != nil })
            let service = try #require(h.pid("x"))
            // Everything is full: the service waits in a write to its pipe.
            #expect(eventually(timeout: 20) { ProcFS.text("/proc/\(service)/wchan").contains("pipe_write") }, "\(ProcFS.text("/proc/\(service)/wchan"))")
            run.signal(SIGTERM)
            let result = run.wait(timeout: 30)
            #expect(!result.timedOut, "TERM was not handled")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test(arguments: ["supervised", "exec"])
    func aDescriptorLimitOfFourIsAnErrorNeverNotRunning(_ mode: String) throws {
        try withHarness("bad-fds") { h throws in
            #expect(try h.startService("x", mode == "exec" ? ["--no-supervise"] : []).code == 0)
            let pid = try #require(h.state("x")?.pid)
            for command in [["stop", "x"], ["status", "x"], ["signal", "x", "USR1"]] {
                let limited = "ulimit -n 4; exec \(h.swiftdPath) \(h.withDirectories(command).joined(separator: " "))"
                let result = try run("/bin/sh", ["-c", limited], environment: h.scratch.environment)
                #expect(!result.stdout.contains("not running") && !result.stderr.contains("not running"), "\(command): \(result)")
                switch command[0] {
                case "stop": if h.isAlive(pid) { #expect(result.code != 0, "stopped while it runs: \(result)") }
                case "status": #expect(result.code == 0 || result.code == 4, "\(result)")
                default: #expect(result.code != 3, "\(result)")
                }
            }
            _ = try h.swiftd(["stop", "x"])
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }
}
