import Glibc
import Daemonize
import TestSupport
import Testing

/// A stale pidfile naming someone else (issue 7, scenario 3): stop, reload,
/// signal and restart never send that process anything.
@Suite(.hangLimit) struct PidReuseTests {
    static let commands: [[String]] = [["stop", "x"], ["reload", "x"], ["signal", "x", "TERM"], ["signal", "x", "KILL"], ["status", "x"]]

    func writePidFile(_ h: Harness, _ content: String) throws {
        try FileSystem.makeDirectories(h.runDirectory, mode: 0o755)
        try FileSystem.writeAtomically(h.pidFile("x"), Array(content.utf8))
    }

    @Test func aLiveUnrelatedProcessIsNeverSignalled() throws {
        try withHarness("reuse-stranger") { h throws in
            let signals = h.scratch.file("signals")
            let stamps = h.scratch.file("stamps")
            let stranger = try Spawned.start(h.fixturePath, ["service", "--record-signals", signals, "--stamp", stamps], environment: h.scratch.environment)
            #expect(eventually { h.text("stamps").hasPrefix("start") })
            for command in Self.commands + [["restart", "x"]] {
                try writePidFile(h, "\(stranger.pid)\n")
                let result = try h.swiftd(command)
                #expect(result.code != 0 || command[0] == "stop", "\(command): \(result)")
            }
            let got = h.recordedSignals(of: stranger.pid, in: signals)
            #expect(got == [], "signals reached the stranger: \(String(describing: got))")
            #expect(stranger.isRunning)
        }
    }

    @Test func theCallerItselfIsNeverSignalled() throws {
        try withHarness("reuse-self") { h throws in
            try FileSystem.makeDirectories(h.runDirectory, mode: 0o755)
            for command in Self.commands {
                // The shell writes its own pid, then becomes swiftd: the pidfile names the caller.
                let script = "echo $$ > \(h.pidFile("x")); exec \(h.swiftdPath) \(h.withDirectories(command).joined(separator: " "))"
                let result = try run("/bin/sh", ["-c", script], environment: h.scratch.environment)
                #expect(!result.timedOut)
                if case .signaled(let signal, _) = result.status { Issue.record("\(command): swiftd was killed by \(signal)") }
                #expect([0, 1, 3].contains(result.code), "\(command): \(result)")
            }
        }
    }

    @Test func aPidAbovePidMaxIsHarmless() throws {
        try withHarness("reuse-max") { h throws in
            for command in Self.commands {
                try writePidFile(h, "4194305\n")
                let result = try h.swiftd(command)
                #expect([0, 1, 3].contains(result.code), "\(command): \(result)")
            }
            #expect(try h.swiftd(["status", "x"]).stdout.contains("dead"))
        }
    }

    @Test(.requires(.root, .unshare, .nsenter))
    func pidOneIsNeverSignalled() throws {
        try withHarness("reuse-init") { h throws in
            let signals = h.scratch.file("signals")
            let stamps = h.scratch.file("stamps")
            // In a new pid namespace, PID 1 is a fixture that records every signal it gets.
            let namespace = try Spawned.start("/usr/bin/unshare", ["--pid", "--fork", "--mount-proc", h.fixturePath, "service",
                                                                   "--record-signals", signals, "--stamp", stamps], environment: h.scratch.environment)
            #expect(eventually { h.text("stamps").hasPrefix("start 1 ") }, "the fixture is PID 1 there: \(h.text("stamps"))")
            let initPID = try #require(ProcessTable.children(of: namespace.pid).first)
            for command in Self.commands + [["restart", "x"]] {
                try writePidFile(h, "1\n")
                let result = try run("/usr/bin/nsenter", ["--target", "\(initPID)", "--pid", "--mount", "--", h.swiftdPath] + h.withDirectories(command),
                                     environment: h.scratch.environment)
                #expect(!result.timedOut, "\(command): \(result)")
            }
            let got = h.recordedSignals(of: initPID, in: signals)
            #expect(got == [], "signals reached PID 1: \(String(describing: got))")
            kill(initPID, SIGKILL)
            _ = namespace.wait(timeout: 10)
        }
    }
}

extension PidReuseTests {
    /// A locked pidfile naming 1, as a service with a writable lock
    /// descriptor could once leave it: refused, nothing sent. In a pid
    /// namespace whose PID 1 records every signal, so that even a regression
    /// could not reach the machine's init.
    @Test(.requires(.root, .unshare, .nsenter))
    func aLockedPidfileNamingPidOneIsRefused() throws {
        try withHarness("reuse-locked-one") { h throws in
            let signals = h.scratch.file("signals")
            let stamps = h.scratch.file("stamps")
            let namespace = try Spawned.start("/usr/bin/unshare", ["--pid", "--fork", "--mount-proc", h.fixturePath, "service",
                                                                   "--record-signals", signals, "--stamp", stamps], environment: h.scratch.environment)
            #expect(eventually { h.text("stamps").hasPrefix("start 1 ") })
            let initPID = try #require(ProcessTable.children(of: namespace.pid).first)
            try FileSystem.makeDirectories(h.runDirectory, mode: 0o755)
            let holder = try Spawned.start(h.fixturePath, ["acquire", h.pidFile("x"), "--write-pid", "1"], environment: h.scratch.environment)
            #expect(eventually { h.pid("x") == 1 })
            for command in [["signal", "x", "TERM"], ["reload", "x"], ["stop", "x"]] {
                let result = try run("/usr/bin/nsenter", ["--target", "\(initPID)", "--pid", "--mount", "--", h.swiftdPath] + h.withDirectories(command),
                                     environment: Environment.setting("SWIFTD_TEST_MARK", to: h.scratch.path, in: h.scratch.environment))
                #expect(!result.timedOut && result.code != 0, "\(command): \(result)")
                if command[0] != "stop" { #expect(result.stderr.contains("names pid 1"), "\(command): \(result)") }
            }
            let got = h.recordedSignals(of: initPID, in: signals)
            #expect(got == [], "signals reached PID 1: \(String(describing: got))")
            #expect(holder.isRunning)
            kill(initPID, SIGKILL)
            _ = namespace.wait(timeout: 10)
        }
    }
}

/// A state file that names someone else's session: what is left of a dead
/// supervisor's service is stopped only when the record proves it is that
/// service (its start time), never a stranger's whole session.
@Suite(.hangLimit) struct LeftoverTests {
    @Test func aRecordWithoutAStartTimeNeverStopsAStrangersSession() throws {
        try withHarness("leftover-forged") { h throws in
            let signals = h.scratch.file("signals")
            let stamps = h.scratch.file("stamps")
            // A stranger leading its own session, with a child in it.
            let launcher = try Spawned.start("/usr/bin/setsid", ["--fork", h.fixturePath, "service", "--fork", "1", "--record-signals", signals, "--stamp", stamps],
                                             environment: h.scratch.environment)
            _ = launcher.wait(timeout: 10)
            #expect(eventually { h.text("stamps").hasPrefix("start ") })
            let stranger = try #require(h.text("stamps").split(separator: " ").dropFirst().first.flatMap { pid_t($0) })
            #expect(ProcessTable.stat(of: stranger)?.session == stranger)
            let startTime = try #require(ProcessTable.stat(of: stranger)?.startTime)
            try FileSystem.makeDirectories(h.runDirectory, mode: 0o755)
            for record in ["", "pid-start-time=\(startTime + 1000)\n"] {
                let state = "version=1\nname=x\nmode=supervised\nphase=running\npid=\(stranger)\n" + record
                try FileSystem.writeAtomically(Path.join(h.runDirectory, "x.state"), Array(state.utf8))
                try FileSystem.writeAtomically(h.pidFile("x"), Array("\(stranger)\n".utf8))
                #expect(try h.swiftd(["stop", "x"]).code == 0)
                #expect(try h.startService("x", ["--min-uptime", "0"]).code == 0)
                #expect(try h.swiftd(["stop", "x"]).code == 0)
            }
            #expect(h.isAlive(stranger))
            #expect(ProcessTable.members(ofSession: stranger).count == 2)
            let got = h.recordedSignals(of: stranger, in: signals)
            #expect(got == [], "\(String(describing: got))")
        }
    }

    /// A session whose leader exited, its number the pid a dead service's
    /// record names: a stranger's session that took the number once the pid
    /// space wrapped, as far as anything can tell. Its member is left alone,
    /// and named, by stop and by start, whatever start time the record gives.
    @Test func aSessionNumberGivenOutAgainIsLeftAlone() throws {
        try withHarness("leftover-reused") { h throws in
            let signals = h.scratch.file("signals")
            let stamps = h.scratch.file("stamps")
            // setsid's child leads a new session, starts a member and exits.
            let script = "'\(h.fixturePath)' service --record-signals '\(signals)' --stamp '\(stamps)' & exit 0"
            _ = try Spawned.start("/usr/bin/setsid", ["--fork", "/bin/sh", "-c", script], environment: h.scratch.environment).wait(timeout: 10)
            #expect(eventually { h.text("stamps").hasPrefix("start ") })
            let member = try #require(h.text("stamps").split(separator: " ").dropFirst().first.flatMap { pid_t($0) })
            let stat = try #require(ProcessTable.stat(of: member))
            let leader = stat.session
            #expect(leader != member)
            #expect(eventually { ProcessTable.stat(of: leader) == nil }, "the leader is reaped: its number is free")
            try FileSystem.makeDirectories(h.runDirectory, mode: 0o755)
            for seen in ["", "main-seen=\(stat.startTime - 1)\n"] {
                let state = "version=1\nname=x\nmode=supervised\nphase=running\npid=\(leader)\npid-start-time=\(stat.startTime)\n" + seen
                try FileSystem.writeAtomically(Path.join(h.runDirectory, "x.state"), Array(state.utf8), mode: 0o600)
                // --quiet keeps the warning.
                let quiet = seen.isEmpty ? [] : ["--quiet"]
                let stop = try h.swiftd(["stop", "x"] + quiet)
                #expect(stop.code == 0 && stop.stdout == (quiet.isEmpty ? "x is not running\n" : ""), "\(stop)")
                #expect(stop.stderr == "swiftd: x: left alone: pid \(member), in the session its main process led: none started before that process "
                        + "was last recorded running, so the session number may be another's by now; stop it by hand if x's\n", "\(stop)")
                try FileSystem.writeAtomically(Path.join(h.runDirectory, "x.state"), Array(state.utf8), mode: 0o600)
                #expect(try h.startService("x", ["--min-uptime", "0"]).code == 0)
                #expect(try h.swiftd(["stop", "x"]).code == 0)
            }
            #expect(h.isAlive(member))
            let got = h.recordedSignals(of: member, in: signals)
            #expect(got == [], "\(String(describing: got))")
        }
    }

    /// What a killed supervisor's service left, its main process gone and
    /// reaped: its members started before the supervisor last recorded the
    /// main process, which proves the session is still the service's, and
    /// the next stop stops them.
    @Test func membersOfADeadMainProcessAreStillStopped() throws {
        try withHarness("leftover-members") { h throws in
            let script = "'\(h.fixturePath)' service & '\(h.fixturePath)' service & wait"
            // The record is written again as the start window ends: by then the
            // members run, and started no later than it saw the main process.
            // (With no window, a member the shell forks a clock tick after the
            // last record has no proof: the test failed so on a busy machine.)
            #expect(try h.swiftd(["start", "x", "--min-uptime", "500ms", "--", "/bin/sh", "-c", script]).code == 0)
            #expect(eventually { h.processes(named: "fixture").count == 2 })
            let main = try #require(h.pid("x"))
            let supervisor = try #require(h.lockHolder("x"))
            kill(supervisor, SIGKILL)
            #expect(eventually { ProcessTable.stat(of: main) == nil }, "the shell died of its parent-death signal and was reaped")
            #expect(h.processes(named: "fixture").count == 2)
            let stop = try h.swiftd(["stop", "x"])
            #expect(stop.code == 0 && stop.stdout == "x stopped (2 leftover processes of a dead supervisor)\n" && stop.stderr.isEmpty, "\(stop)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }
}
