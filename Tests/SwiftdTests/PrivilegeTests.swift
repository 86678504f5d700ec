import Glibc
import Daemonize
import TestSupport
import Testing

/// `--user`/`--group`, and swiftd itself without privileges.
@Suite(.hangLimit) struct PrivilegeTests {
    @Test(.requires(.root))
    func serviceRunsAsTheUserWithItsGroupsAndFilesStayRoot() throws {
        try withHarness("user") { h throws in
            chmod(h.scratch.path, 0o711)
            let sleeper = h.scratch.file("described")
            mkdir(sleeper, 0o777)
            chmod(sleeper, 0o777)
            let start = try h.startService("u", ["--user", "nobody"], service: ["--describe", Path.join(sleeper, "d")])
            #expect(start.code == 0, "\(start)")
            let values = keyValues(String(decoding: (try? FileSystem.read(Path.join(sleeper, "d"))) ?? [], as: UTF8.self))
            #expect(values["uid"] == "65534")
            #expect(values["gid"] == "65534")
            #expect(values["groups"] == "65534")
            #expect(values["env"]?.contains("USER=nobody") == true)
            #expect(try FileSystem.linkStatus(h.pidFile("u"))?.st_uid == 0)
            #expect(try FileSystem.linkStatus(Path.join(h.runDirectory, "u.state"))?.st_uid == 0)
            #expect(try h.swiftd(["stop", "u"]).code == 0)
        }
    }

    @Test(.requires(.root, .setpriv))
    func serviceUserCannotTouchItsSupervisorOrItsFiles() throws {
        try withHarness("user-isolation") { h throws in
            chmod(h.scratch.path, 0o711)
            #expect(try h.startService("u", ["--user", "nobody"]).code == 0)
            let supervisor = try #require(h.lockHolder("u"))
            let state = Path.join(h.runDirectory, "u.state")
            // What the service's user can do, tried from a process of that user.
            let script = """
            kill -0 \(supervisor) 2>/dev/null; echo signal=$?
            kill -TERM \(supervisor) 2>/dev/null; echo term=$?
            (: >> \(h.pidFile("u"))) 2>/dev/null; echo pidfile=$?
            (: >> \(state)) 2>/dev/null; echo state=$?
            (: > \(h.runDirectory)/planted) 2>/dev/null; echo plant=$?
            (rm -f \(h.pidFile("u"))) 2>/dev/null; test -e \(h.pidFile("u")); echo remove=$?
            """
            let tried = try run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "/bin/sh", "-c", script],
                                environment: h.scratch.environment)
            let v = tried.values
            for key in ["signal", "term", "pidfile", "state", "plant"] { #expect(v[key] != "0", "\(key): \(tried)") }
            #expect(v["remove"] == "0", "the pidfile is still there: \(tried)")
            #expect(h.isAlive(supervisor))
            #expect(try h.swiftd(["status", "u"]).code == 0)
        }
    }

    @Test(.requires(.root))
    func groupOptionsSetThePrimaryGroup() throws {
        try withHarness("group") { h throws in
            chmod(h.scratch.path, 0o711)
            let out = h.scratch.file("described")
            mkdir(out, 0o777)
            chmod(out, 0o777)
            let daemonGroup = try #require(try Credentials.groupID("daemon"))
            #expect(try h.startService("both", ["--user", "nobody:daemon"], service: ["--describe", Path.join(out, "both")]).code == 0)
            let both = keyValues(String(decoding: (try? FileSystem.read(Path.join(out, "both"))) ?? [], as: UTF8.self))
            #expect(both["uid"] == "65534")
            #expect(both["gid"] == "\(daemonGroup)")
            #expect(both["groups"]?.split(separator: ",").contains("\(daemonGroup)") == true, "\(both)")
            #expect(try h.startService("group", ["--group", "daemon"], service: ["--describe", Path.join(out, "group")]).code == 0)
            let group = keyValues(String(decoding: (try? FileSystem.read(Path.join(out, "group"))) ?? [], as: UTF8.self))
            #expect(group["uid"] == "0")
            #expect(group["gid"] == "\(daemonGroup)")
            #expect(group["groups"] == "\(daemonGroup)", "root's own groups are dropped: \(group)")
            let unknown = try h.startService("bad", ["--group", "no-such-group-swiftd"])
            #expect(unknown.code == 2 && unknown.stderr.contains("unknown group 'no-such-group-swiftd'"), "\(unknown)")
        }
    }

    @Test func unknownUserIsTwoNamingIt() throws {
        try withHarness("user-unknown") { h throws in
            let start = try h.startService("u", ["--user", "no-such-user-swiftd"])
            #expect(start.code == 2, "\(start)")
            #expect(start.stderr.contains("unknown user 'no-such-user-swiftd'"))
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// Runs swiftd as nobody (setpriv) in directories nobody owns.
    func asNobody(_ h: Harness, _ arguments: [String]) throws -> RunResult {
        try run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", h.swiftdPath] + h.withDirectories(arguments),
                environment: h.scratch.environment)
    }

    @Test(.requires(.root, .setpriv))
    func failedPrivilegeChangeIsFourNamingTheStep() throws {
        try withHarness("user-fail") { h throws in
            chmod(h.scratch.path, 0o711)
            for dir in [h.runDirectory, h.logDirectory] {
                mkdir(dir, 0o755)
                chown(dir, 65534, 65534)
            }
            let start = try asNobody(h, ["start", "x", "--user", "root", "--", "/bin/sleep", "30"])
            #expect(start.code == 4, "\(start)")
            #expect(start.stderr.contains("Operation not permitted"), "\(start)")
            #expect(start.stderr.contains("setgroups") || start.stderr.contains("setgid") || start.stderr.contains("setuid"), "\(start)")
            #expect(h.scratch.markedProcesses().isEmpty, "never run as anyone else after a failed drop")
        }
    }

    @Test(.requires(.root, .setpriv))
    func unwritableRunDirectoryIsFourNamingIt() throws {
        try withHarness("rundir-ro") { h throws in
            chmod(h.scratch.path, 0o711)
            mkdir(h.runDirectory, 0o755)
            let start = try asNobody(h, ["start", "x", "--", "/bin/sleep", "30"])
            #expect(start.code == 4, "\(start)")
            #expect(start.stderr.contains("run dir \(h.runDirectory)"), "\(start)")
            #expect(start.stderr.contains("Permission denied"))
            #expect(ProcessTable.entries(of: h.runDirectory).isEmpty)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }
}
