import Glibc
import Daemonize
import TestSupport
import Testing

/// `--restart-mode overlap` and restarts in place: what `restart`, `status`,
/// `list` and `stop` say and do while two instances run, and when the new
/// one fails.
@Suite(.hangLimit) struct OverlapTests {
    static let server = Path.join(Path.join(Path.directory(of: Path.directory(of: Path.directory(of: #filePath))), "Tests/fixtures"), "listen-server.py")

    /// The Python server as NAME with overlap, its failure and hang switches in the scratch dir.
    func startServer(_ h: Harness, _ name: String, _ extra: [String] = [], server: [String] = []) throws -> UInt16 {
        let port = try Loopback.freePort()
        let start = try h.swiftd(["start", name, "--listen", "tcp:127.0.0.1:\(port)", "--ready", "notify", "--restart-mode", "overlap"] + extra
                                 + ["--", "/usr/bin/python3", Self.server, "--fail-if", h.scratch.file("fail"), "--hang-if", h.scratch.file("hang")] + server)
        #expect(start.code == 0, "\(start)")
        return port
    }

    /// The pid in GET / 's answer.
    func servingPID(_ port: UInt16) -> pid_t? {
        Loopback.body(port, "GET / HTTP/1.0\r\n\r\n").flatMap { $0.split(separator: " ").first }.flatMap { pid_t($0.dropFirst(4)) }
    }

    @Test(.requires(.python3))
    func aNewInstanceThatFailsLeavesTheOldOneServing() throws {
        try withHarness("overlap-fail") { h throws in
            let port = try startServer(h, "web", ["--ready-timeout", "1s"])
            let old = try #require(h.state("web")?.pid)
            let supervisor = try #require(h.state("web")?.supervisorPID)
            try FileSystem.writeAtomically(h.scratch.file("fail"), [])
            let failed = try h.swiftd(["restart", "web"])
            #expect(failed.code == 1, "\(failed)")
            #expect(failed.stderr.contains("web: restart failed: the new instance exited with status 1 before it was ready; the old one (pid \(old)) still serves"),
                    "\(failed)")
            #expect(servingPID(port) == old)
            #expect(h.pid("web") == old, "the pidfile still names the old one")
            let status = try h.swiftd(["status", "web"])
            #expect(status.code == 0 && status.stdout.contains("running (pid \(old))") && status.stdout.contains("last restart failed: the new instance exited"),
                    "\(status)")
            // Never ready: stopped after --ready-timeout, the old one serves on.
            try FileSystem.remove(h.scratch.file("fail"))
            try FileSystem.writeAtomically(h.scratch.file("hang"), [])
            let hung = try h.swiftd(["restart", "web"])
            #expect(hung.code == 1 && hung.stderr.contains("the new instance was not ready after 1s; the old one (pid \(old)) still serves"), "\(hung)")
            #expect(servingPID(port) == old)
            #expect(eventually { h.scratch.markedProcesses().count == 2 }, "the supervisor and the old instance only")
            // And once it can start, it takes over, under the same supervisor.
            try FileSystem.remove(h.scratch.file("hang"))
            let restart = try h.swiftd(["restart", "web"])
            #expect(restart.code == 0, "\(restart)")
            let new = try #require(h.state("web")?.pid)
            #expect(new != old && servingPID(port) == new && h.pid("web") == new)
            #expect(restart.stdout == "web restarted (pid \(new))\n")
            #expect(h.state("web")?.supervisorPID == supervisor, "restarted in place")
            #expect(eventually { !h.isAlive(old) }, "the old instance was stopped")
            #expect(try h.swiftd(["stop", "web"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test(.requires(.python3))
    func statusListAndStopWhileTwoInstancesRun() throws {
        try withHarness("overlap-both") { h throws in
            _ = try startServer(h, "web", ["--ready-timeout", "30s"])
            let old = try #require(h.state("web")?.pid)
            try FileSystem.writeAtomically(h.scratch.file("hang"), [])
            let restart = try h.spawnSwiftd(["restart", "web"])
            #expect(eventually { h.state("web")?.newPID != nil })
            let new = try #require(h.state("web")?.newPID)
            let status = try h.swiftd(["status", "web"])
            #expect(status.stdout.contains("running (pid \(old))") && status.stdout.contains("new instance (pid \(new)) starting"), "\(status)")
            let json = try h.swiftd(["status", "web", "--json"])
            #expect(json.stdout.contains("\"pid\":\(old),") && json.stdout.contains("\"new_pid\":\(new),"), "\(json)")
            let list = try h.swiftd(["list"])
            #expect(list.stdout.contains("\(old)+\(new)"), "\(list)")
            // A stop now stops both, and the waiting restart hears why.
            let stop = try h.swiftd(["stop", "web"])
            #expect(stop.code == 0, "\(stop)")
            #expect(!h.isAlive(old) && !h.isAlive(new))
            let restarted = restart.wait(timeout: 30)
            #expect(restarted.code == 1 && restarted.stderr.contains("restart failed: web was stopped"), "\(restarted)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// A new instance that says it is ready, then dies (gunicorn's master on a
    /// broken app): within `--settle` it is a failed restart and the old one
    /// serves on; with `--settle 0` the restart said "restarted" and the old
    /// instance was gone (issue 27).
    @Test(arguments: ["2s", "0"])
    func aNewInstanceThatDiesWithinItsSettleTimeFailsTheRestart(_ settle: String) throws {
        try withHarness("overlap-settle") { h throws in
            let fixture = h.fixturePath
            let script = "if [ -e broken ]; then exec \(fixture) service --notify-ready-after 10 --after 400 --exit 3; fi; "
                + "exec \(fixture) service --notify-ready-after 10"
            #expect(try h.swiftd(["start", "svc", "--chdir", h.scratch.path, "--ready", "notify", "--restart-mode", "overlap", "--settle", settle,
                                  "--restart", "no", "--", "/bin/sh", "-c", script]).code == 0)
            let old = try #require(h.pid("svc"))
            try FileSystem.writeAtomically(h.scratch.file("broken"), [])
            let restart = try h.swiftd(["restart", "svc"])
            if settle == "0" {
                #expect(restart.code == 0, "\(restart)")
                #expect(eventually { h.state("svc")?.phase == .exited }, "the new instance died, and nothing serves")
                return
            }
            #expect(restart.code == 1, "\(restart)")
            #expect(restart.stderr.contains("svc: restart failed: the new instance exited with status 3 ")
                    && restart.stderr.contains(" after it was ready, within its settle time (2s); the old one (pid \(old)) still serves"), "\(restart)")
            #expect(h.pid("svc") == old && h.isAlive(old))
            let status = try h.swiftd(["status", "svc"])
            #expect(status.code == 0 && status.stdout.contains("running (pid \(old))") && status.stdout.contains("last restart failed: the new instance exited"),
                    "\(status)")
            #expect(try h.swiftd(["stop", "svc"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func anOldInstanceThatIgnoresTheStopSignalIsKilledOnSchedule() throws {
        try withHarness("overlap-kill") { h throws in
            let start = try h.startService("svc", ["--restart-mode", "overlap", "--min-uptime", "0", "--stop-timeout", "500ms"], service: ["--ignore-term"])
            #expect(start.code == 0, "\(start)")
            let old = try #require(h.state("svc")?.pid)
            let restart = try h.swiftd(["restart", "svc"])
            #expect(restart.code == 0, "\(restart)")
            let new = try #require(h.state("svc")?.pid)
            #expect(new != old)
            #expect(eventually { !h.isAlive(old) }, "KILL after the stop timeout")
            #expect(h.log("svc").contains("instance (pid \(old)) did not stop within 500ms: sending KILL"), "\(h.log("svc"))")
            #expect(h.isAlive(new), "the new instance was never signalled")
            // The record drops the old pid once the supervisor has reaped it: a moment after it is gone.
            #expect(eventually { h.state("svc")?.oldPID == nil }, "\(String(describing: h.state("svc")))")
            #expect(try h.swiftd(["stop", "svc"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func aRestartInPlaceReadsTheEnvironmentFileAgain() throws {
        try withHarness("overlap-env") { h throws in
            let file = h.scratch.file("default")
            try FileSystem.writeAtomically(file, Array("GREETING=one\n".utf8), mode: 0o644)
            let described = h.scratch.file("described")
            #expect(try h.startService("svc", ["--restart-mode", "overlap", "--min-uptime", "0", "--env-file", file], service: ["--describe", described]).code == 0)
            #expect(eventually { h.text("described").contains("GREETING=one") })
            let supervisor = try #require(h.state("svc")?.supervisorPID)
            try FileSystem.writeAtomically(file, Array("GREETING=two\n".utf8), mode: 0o644)
            #expect(try h.swiftd(["restart", "svc"]).code == 0)
            #expect(eventually { h.text("described").contains("GREETING=two") }, "\(h.text("described"))")
            #expect(h.state("svc")?.supervisorPID == supervisor)
            // An environment file that cannot be read fails the restart before it begins (the code start
            // would give: 2, it was an option); the old instance serves on.
            try FileSystem.remove(file)
            let failed = try h.swiftd(["restart", "svc"])
            #expect(failed.code == 2 && failed.stderr.contains("env file \(file)") && failed.stderr.contains("(svc not restarted: it runs on"), "\(failed)")
            #expect(try h.swiftd(["status", "svc"]).code == 0)
            #expect(try h.swiftd(["stop", "svc"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func aChangedConfigurationIsAStopAndAStart() throws {
        try withHarness("overlap-changed") { h throws in
            #expect(try h.startService("svc", ["--restart-mode", "overlap", "--min-uptime", "0"]).code == 0)
            let supervisor = try #require(h.state("svc")?.supervisorPID)
            #expect(try h.swiftd(["restart", "svc"]).code == 0)
            #expect(h.state("svc")?.supervisorPID == supervisor, "unchanged: in place")
            let changed = try h.swiftd(["restart", "svc", "--nice", "5"])
            #expect(changed.code == 0, "\(changed)")
            let replaced = try #require(h.state("svc")?.supervisorPID)
            #expect(replaced != supervisor, "a new configuration: a new supervisor")
            #expect(try h.swiftd(["stop", "svc"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }
}
