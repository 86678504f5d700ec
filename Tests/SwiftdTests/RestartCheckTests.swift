import Glibc
import Daemonize
import TestSupport
import Testing

/// `restart` checks the new configuration before it touches the running
/// instance (as `nginx -t` before a reload): an edit wrong in substance
/// leaves the service running and the restart fails with why, with the code
/// `start` would give; `check` says the same.
@Suite(.hangLimit)
struct RestartCheckTests {
    /// The service runs on as it was: same pid, its lock held, status 0.
    func expectRunsOn(_ h: Harness, _ name: String, pid: pid_t, holder: pid_t?, _ context: String) throws {
        #expect(h.pid(name) == pid, "\(context): pid \(h.pid(name).map(String.init) ?? "none"), was \(pid)")
        #expect(h.lockHolder(name) == holder, "\(context)")
        #expect(try h.swiftd(["status", name]).code == 0, "\(context)")
    }

    @Test func aBadEditLeavesTheServiceRunning() throws {
        try withHarness("restart-bad-edit") { h throws in
            let good = "command = \(h.fixturePath) service\n"
            try h.writeConfig("web", good)
            #expect(try h.swiftd(["start", "web"]).code == 0)
            let pid = try #require(h.pid("web"))
            let holder = h.lockHolder("web")
            let missing = h.scratch.file("missing")
            try FileSystem.writeAtomically(h.scratch.file("plain"), Array("not a program\n".utf8), mode: 0o644)
            let edits: [(config: String, code: Int32, says: String)] = [
                (good + "user = no-such-user-swiftd\n", 6, "unknown user 'no-such-user-swiftd'"),
                (good + "group = no-such-group-swiftd\n", 6, "unknown group 'no-such-group-swiftd'"),
                (good + "env-file = \(missing)/web.env\n", 6, "env file \(missing)/web.env: No such file or directory"),
                (good + "chroot = \(missing)\n", 6, "bad value for chroot: '\(missing)' (no such directory)"),
                (good + "chdir = \(missing)\n", 1, "chdir \(missing): No such file or directory"),
                (good + "listen = unix:\(missing)/web.sock\n", 1, "cannot listen on unix:\(missing)/web.sock: directory \(missing): no such directory"),
                (good + "listen = unix:\(h.scratch.file("web.sock")),owner=no-such-user-swiftd\n", 1, "owner=no-such-user-swiftd: unknown user"),
                (good + "listen = unix:\(h.scratch.file("plain"))\n", 1, "cannot listen on unix:\(h.scratch.file("plain")): bind: File exists"),
                (good + "log = \(h.scratch.path)\n", 1, "log \(h.scratch.path): Is a directory"),
                ("command = \(missing)/server\n", 5, "exec \(missing)/server: command not found"),
                ("command = \(h.scratch.file("plain"))\n", 4, "exec \(h.scratch.file("plain")): Permission denied"),
            ]
            for edit in edits {
                try h.writeConfig("web", edit.config)
                let restart = try h.swiftd(["restart", "web"])
                #expect(restart.code == edit.code && restart.stderr.contains(edit.says), "\(edit.config): \(restart)")
                #expect(restart.stderr.contains("(web not restarted: it runs on, pid \(pid))"), "\(restart)")
                try expectRunsOn(h, "web", pid: pid, holder: holder, edit.config)
                let check = try h.swiftd(["check", "web"])
                #expect(check.code == 6 && check.stderr.contains(edit.says), "check says the same: \(check)")
            }
            // The same on the command line: a usage error, and the service runs on.
            try h.writeConfig("web", good)
            let option = try h.swiftd(["restart", "web", "--user", "no-such-user-swiftd"])
            #expect(option.code == 2 && option.stderr.contains("unknown user"), "\(option)")
            try expectRunsOn(h, "web", pid: pid, holder: holder, "--user")
            // A good edit restarts it.
            let restarted = try h.swiftd(["restart", "web"])
            #expect(restarted.code == 0 && restarted.stdout.contains("web restarted"), "\(restarted)")
            #expect(h.pid("web") != pid)
            // Not running: the same check, and nothing is started.
            #expect(try h.swiftd(["stop", "web"]).code == 0)
            try h.writeConfig("web", good + "user = no-such-user-swiftd\n")
            let stopped = try h.swiftd(["restart", "web"])
            #expect(stopped.code == 6 && stopped.stderr.contains("unknown user") && !stopped.stderr.contains("runs on"), "\(stopped)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// A restart in place (`listen`): the supervisor checks the command and
    /// its files again before it stops the old instance, for a restart asked
    /// by `restart` and one a watched change asks for.
    @Test func aBadEditDoesNotStopARestartInPlace() throws {
        try withHarness("restart-in-place-edit") { h throws in
            let program = h.scratch.file("server")
            let trigger = h.scratch.file("deploy")
            try FileSystem.writeAtomically(program, Array("#!/bin/sh\nexec \(h.fixturePath) service --stamp \(h.scratch.file("stamps"))\n".utf8), mode: 0o755)
            try FileSystem.writeAtomically(trigger, Array("1\n".utf8))
            let port = try Loopback.freePort()
            let start = try h.swiftd(["start", "web", "--listen", "tcp:127.0.0.1:\(port)", "--watch", trigger, "--", program])
            #expect(start.code == 0, "\(start)")
            let pid = try #require(h.pid("web"))
            let holder = h.lockHolder("web")
            try FileSystem.remove(program)
            let restart = try h.swiftd(["restart", "web"])
            #expect(restart.code == 5 && restart.stderr.contains("exec \(program): command not found"), "\(restart)")
            try expectRunsOn(h, "web", pid: pid, holder: holder, "restart")
            // The watched change: the supervisor's own restart finds the command gone, and stops nothing.
            try FileSystem.writeAtomically(trigger, Array("2\n".utf8))
            #expect(eventually(timeout: 20) { h.log("web").contains("restart failed") }, "\(h.log("web"))")
            #expect(h.log("web").contains("\(program): command not found"), "\(h.log("web"))")
            try expectRunsOn(h, "web", pid: pid, holder: holder, "watched change")
            #expect(h.text("stamps").split(separator: "\n").filter { $0.hasPrefix("start") }.count == 1, "\(h.text("stamps"))")
            #expect(try h.swiftd(["stop", "web"]).code == 0)
        }
    }

    /// Root without CAP_SYS_RESOURCE (a container's default): an OOM
    /// adjustment below 0 cannot be set, which is known before the stop.
    @Test(.requires(.root, .setpriv))
    func anOOMAdjustmentThisProcessMayNotSetIsFoundFirst() throws {
        try withHarness("restart-oom") { h throws in
            let withoutCapability = ["--bounding-set=-sys_resource", "--inh-caps=-sys_resource", "--", h.swiftdPath]
            func swiftd(_ arguments: [String]) throws -> RunResult {
                try run("/usr/bin/setpriv", withoutCapability + h.withDirectories(arguments), environment: h.scratch.environment)
            }
            try h.writeConfig("web", "command = \(h.fixturePath) service\noom-score-adjust = 0\n")
            #expect(try swiftd(["start", "web"]).code == 0)
            let pid = try #require(h.pid("web"))
            let holder = h.lockHolder("web")
            try h.writeConfig("web", "command = \(h.fixturePath) service\noom-score-adjust = -500\n")
            let restart = try swiftd(["restart", "web"])
            #expect(restart.code == 6 && restart.stderr.contains("bad value for oom-score-adjust: '-500' (lowering it below 0 needs CAP_SYS_RESOURCE"),
                    "\(restart)")
            try expectRunsOn(h, "web", pid: pid, holder: holder, "oom-score-adjust")
            #expect(try swiftd(["check", "web"]).code == 6)
            #expect(try h.swiftd(["stop", "web"]).code == 0)
        }
    }
}
