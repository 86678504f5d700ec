import Glibc
import Daemonize
import TestSupport
import Testing

/// Another local user as the adversary (SECURITY.md), played by the real
/// unprivileged user `swiftd-test` against services root runs. It must never
/// make swiftd report a dead service as running, keep it from starting, read
/// a secret, or have its own file taken for the service's log; asking about a
/// service it may not touch answers 4, never "not running".
@Suite(.requires(.hostileUser), .hangLimit)
struct HostileUserTests {
    /// A stale pidfile: its supervisor and service were killed.
    func leaveStalePidfile(_ h: Harness, _ name: String) throws {
        #expect(try h.startService(name).code == 0)
        let supervisor = try #require(h.lockHolder(name))
        kill(supervisor, SIGKILL)
        #expect(eventually { h.processes(named: "fixture").isEmpty })
        #expect(FileSystem.exists(h.pidFile(name)), "the pidfile is left behind")
    }

    @Test func anotherUserCannotLockAStalePidfile() throws {
        try withUserHarness("user-lock") { h, user throws in
            try leaveStalePidfile(h, "x")
            for mode in ["-x", "-s"] {
                let tried = try user.run(h, "/usr/bin/flock", [mode, "-n", h.pidFile("x"), "true"])
                #expect(tried.code != 0, "\(mode): the user locked it: \(tried)")
            }
            let start = try h.startService("x")
            #expect(start.code == 0 && start.stdout.contains("x started"), "\(start)")
            #expect(try h.swiftd(["status", "x"]).code == 0)
        }
    }

    /// A pidfile an older swiftd left readable by everyone: a lock another
    /// user takes on it is never the service's.
    @Test(arguments: ["-x", "-s"])
    func aLockAnotherUserTakesIsNeverTheService(_ mode: String) throws {
        try withUserHarness("user-legacy") { h, user throws in
            try leaveStalePidfile(h, "x")
            chmod(h.pidFile("x"), 0o644)
            let holder = try user.spawn(h, "/usr/bin/flock", [mode, h.pidFile("x"), "sleep", "600"])
            #expect(eventually { h.processes(named: "sleep").count == 1 })
            let status = try h.swiftd(["status", "x"])
            #expect(status.code != 0 && !status.stdout.contains("running"), "\(mode): \(status)")
            let start = try h.startService("x")
            #expect(!(start.code == 0 && h.processes(named: "fixture").isEmpty), "\(mode): said started or running while nothing runs: \(start)")
            #expect(!start.stdout.contains("already running"), "\(mode): \(start)")
            if start.code != 0 { #expect(start.stderr.contains("remove it"), "\(mode): \(start)") }
            holder.signal(SIGKILL)
            _ = try h.swiftd(["stop", "x"])
            unlink(h.pidFile("x"))
            #expect(try h.startService("x").code == 0)
        }
    }

    @Test func secretsNeverReachAFileOthersCanRead() throws {
        try withUserHarness("user-secret") { h, user throws in
            mkdir(h.configDirectory, 0o755)
            let config = Path.join(h.configDirectory, "x.conf")
            try FileSystem.writeAtomically(config, Array("command = \(h.fixturePath) service\nenv = TOKEN=swordfish\n".utf8), mode: 0o600)
            #expect(try h.swiftd(["start", "x", "--env", "SECRET=hunter2"]).code == 0)
            // The secrets are there to be read: the record holds the --env value, the service has both.
            #expect(h.text("run/x.state").contains("hunter2"))
            let pid = try #require(h.pid("x"))
            #expect(ProcFS.environment(pid).contains("SECRET=hunter2") && ProcFS.environment(pid).contains("TOKEN=swordfish"))
            for stage in ["running", "stopped"] {
                for file in ["x.state", "x.pid"] where FileSystem.exists(Path.join(h.runDirectory, file)) {
                    let mode = try #require(try FileSystem.linkStatus(Path.join(h.runDirectory, file))).st_mode & 0o777
                    #expect(mode == 0o600, "\(stage) \(file): mode \(String(mode, radix: 8))")
                }
                // The user's shell ran (it says who it is) and tried every file.
                let read = try user.run(h, "/bin/sh", ["-c", "id -u; cat \(h.runDirectory)/* \(h.logDirectory)/* /proc/\(pid)/environ 2>/dev/null"])
                #expect(read.stdout.hasPrefix("\(user.uid)\n"), "\(stage): \(read)")
                #expect(!read.stdout.contains("hunter2") && !read.stdout.contains("swordfish"), "\(stage): the user read a secret")
                let listed = try user.swiftd(h, ["list", "--json"])
                #expect(listed.code == 0 && listed.stdout.contains("\"name\":\"x\""), "\(stage): \(listed)")
                #expect(!listed.stdout.contains("hunter2") && !listed.stdout.contains("swordfish"), "\(stage): \(listed)")
                if stage == "running" { #expect(try h.swiftd(["stop", "x"]).code == 0) }
            }
        }
    }

    @Test func aLogFileAnotherUserPlantedIsRefused() throws {
        try withUserHarness("user-log") { h, user throws in
            let shared = h.scratch.file("shared")
            mkdir(shared, 0o1777)
            chmod(shared, 0o1777)
            let planted = Path.join(shared, "x.log")
            #expect(try user.run(h, "/bin/sh", ["-c", "echo planted > \(planted)"]).code == 0)
            for mode in [[], ["--no-supervise"]] {
                let start = try h.startService("x", mode + ["--log", planted])
                #expect(start.code == 4 && start.stderr.contains(planted) && start.stderr.contains("owned by uid \(user.uid)"), "\(mode): \(start)")
                #expect(h.processes(named: "fixture").isEmpty)
            }
            #expect(h.text("shared/x.log") == "planted\n", "the user's file was written")
            // A second name for a file (a hard link) is refused too.
            let linked = h.scratch.file("linked.log")
            try FileSystem.writeAtomically(linked, [])
            link(linked, h.scratch.file("other-name.log"))
            let start = try h.startService("y", ["--log", linked])
            #expect(start.code == 4 && start.stderr.contains("hard links"), "\(start)")
        }
    }

    @Test(arguments: ["supervised", "exec"])
    func anotherUsersServiceAnswersFourNeverNotRunning(_ mode: String) throws {
        try withUserHarness("user-four") { h, user throws in
            #expect(try h.startService("x", mode == "exec" ? ["--no-supervise"] : []).code == 0)
            let pid = try #require(h.pid("x"))
            for command in [["stop", "x"], ["status", "x"], ["signal", "x", "TERM"], ["reload", "x"], ["restart", "x"], ["start", "x", "--", h.fixturePath, "service"]] {
                let result = try user.swiftd(h, command)
                #expect(result.code == 4, "\(command): \(result)")
                #expect(!result.stdout.contains("not running") && !result.stderr.contains("not running"), "\(command): \(result)")
            }
            let list = try user.swiftd(h, ["list"])
            #expect(list.code == 0 && list.stdout.contains("x  "), "\(list)")
            #expect(h.isAlive(pid), "the service survived")
            #expect(try h.swiftd(["stop", "x"]).code == 0)
        }
    }

    /// The notify socket is an abstract name any user can send to: only the
    /// service's own processes are listened to.
    @Test func anotherUserCannotMakeAServiceReady() throws {
        try withUserHarness("user-notify") { h, user throws in
            let start = try h.spawnSwiftd(["start", "x", "--ready", "notify", "--ready-timeout", "2s", "--", h.fixturePath, "service"])
            #expect(eventually { h.pid("x") != nil })
            let sockets = String(decoding: try FileSystem.read("/proc/net/unix", limit: 1 << 24), as: UTF8.self)
            let address = try #require(sockets.split(separator: "\n").compactMap { line in
                line.split(separator: " ").last.flatMap { $0.hasPrefix("@swiftd/x/") ? String($0) : nil }
            }.first)
            let sent = try user.run(h, "/usr/bin/env", ["NOTIFY_SOCKET=\(address)", h.fixturePath, "notify", "READY=1", "STATUS=pwned"])
            #expect(sent.values["sent"] == "yes", "\(sent)")
            let result = start.wait(timeout: 30)
            #expect(result.code == 1 && result.stderr.contains("not ready after 2s"), "\(result)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }
}
