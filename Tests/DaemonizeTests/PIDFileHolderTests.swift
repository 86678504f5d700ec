import Glibc
import Daemonize
import TestSupport
import Testing

/// What `PIDFile` says about a lock it cannot take, and about files of other
/// users and missing directories (issue 28's smaller findings).
@Suite(.hangLimit) struct PIDFileHolderTests {
    let fixture = product("fixture")

    /// A lock taken by one process and held by another: `flock(1)` takes it
    /// on the shell's descriptor and exits, the shell (then sleep) holds it.
    /// The holder named is the live one, never the process that took it.
    @Test(.requires(.program("/usr/bin/flock", from: "util-linux")))
    func aLockHandedOnNamesTheProcessThatHoldsItNotTheOneThatTookIt() throws {
        try withScratch("pid-handed") { scratch throws in
            let path = scratch.file("h.pid")
            let script = "umask 077; exec 9>'\(path)'; /usr/bin/flock -x 9; echo $$ > '\(path)'; exec sleep 60"
            let shell = try Spawned.start("/bin/sh", ["-c", script], environment: scratch.environment)
            #expect(eventually { PIDFile.status(at: path) == .running(pid: shell.pid) })
            #expect(PIDFile.lockHolder(at: path) == shell.pid)
            let second = try run(fixture, ["acquire", path], environment: scratch.environment)
            #expect(second.code == 1, "\(second)")
            #expect(second.values["locked"] == "\(shell.pid)")
            #expect(second.values["holder"] == "\(shell.pid)", "the holder is the process that holds the lock: \(second)")
        }
    }

    /// The temporary file `acquire` creates first is its own business: a
    /// missing directory is reported for the path asked for.
    @Test func acquireInAMissingDirectoryNamesThePathAskedFor() throws {
        try withScratch("pid-nodir") { scratch throws in
            let path = scratch.file("missing/app.pid")
            let result = try run(fixture, ["acquire", path], environment: scratch.environment)
            #expect(result.code == 2, "\(result)")
            #expect(result.values["error"] == "open \(path): No such file or directory", "\(result)")
        }
    }

    /// Root reads the pidfile of a daemon that runs as its own user: running,
    /// with its pid (it said "unreadable"). Root's `acquire` still refuses it.
    @Test(.requires(.hostileUser))
    func rootProbingAPidfileOfTheServiceUserReadsIt() throws {
        try withUserHarness("pid-foreign") { h, user throws in
            let directory = h.scratch.file("user")
            #expect(mkdir(directory, 0o755) == 0 && chown(directory, user.uid, user.gid) == 0)
            let path = directory + "/user.pid"
            let holder = try user.spawn(h, fixture, ["acquire", path])
            #expect(eventually { PIDFile.status(at: path) == .running(pid: holder.pid) }, "\(PIDFile.status(at: path))")
            let root = try run(fixture, ["acquire", path], environment: h.scratch.environment)
            #expect(root.code == 2, "\(root)")
            #expect(root.values["error"]?.contains("owned by uid \(user.uid), not by this user (refused)") == true, "\(root)")
        }
    }
}
