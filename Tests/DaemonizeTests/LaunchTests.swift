import Glibc
import Daemonize
import TestSupport
import Testing

/// `Launcher`, driven from the fixture (the test runner never forks).
@Suite(.hangLimit) struct LaunchTests {
    let fixture = product("fixture")

    func launch(_ scratch: Scratch, _ options: [String], _ command: [String]) throws -> RunResult {
        try run(fixture, ["launch"] + options + ["--"] + command, environment: scratch.environment)
    }

    /// No zombie and no descriptor left behind in the launching process.
    func expectClean(_ result: RunResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.values["children"] == "[]", "\(result)", sourceLocation: sourceLocation)
        #expect(result.values["fds-before"] == result.values["fds-after"], "\(result)", sourceLocation: sourceLocation)
    }

    @Test func missingProgramIsENOENTNamingIt() throws {
        try withScratch("launch-missing") { scratch throws in
            let result = try launch(scratch, [], ["no-such-program-swiftd"])
            let outcome = try #require(result.values["outcome"])
            #expect(outcome.contains("errno=\(ENOENT)"), "\(outcome)")
            #expect(outcome.contains("no-such-program-swiftd"))
            expectClean(result)
        }
    }

    @Test func nonExecutableFileIsEACCES() throws {
        try withScratch("launch-noexec") { scratch throws in
            let file = scratch.file("plain")
            try FileSystem.writeAtomically(file, Array("#!/bin/sh\n".utf8), mode: 0o644)
            let result = try launch(scratch, [], [file])
            let outcome = try #require(result.values["outcome"])
            #expect(outcome.contains("errno=\(EACCES)"), "\(outcome)")
            #expect(outcome.contains(file))
            expectClean(result)
        }
    }

    @Test func badWorkingDirectoryIsTheChdirStep() throws {
        try withScratch("launch-chdir") { scratch throws in
            let result = try launch(scratch, ["--cwd", scratch.file("nope")], ["/bin/true"])
            let outcome = try #require(result.values["outcome"])
            #expect(outcome.contains("step=chdir errno=\(ENOENT)"), "\(outcome)")
            #expect(outcome.contains("chdir \(scratch.file("nope"))"))
            #expect(result.values["pid"] == "0")
            expectClean(result)
        }
    }

    @Test func execFailureInTheChildIsReportedAndReaped() throws {
        try withScratch("launch-enoexec") { scratch throws in
            let file = scratch.file("garbage")
            try FileSystem.writeAtomically(file, [0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 0], mode: 0o755)
            let result = try launch(scratch, [], [file])
            let outcome = try #require(result.values["outcome"])
            #expect(outcome.contains("step=exec errno=\(ENOEXEC)"), "\(outcome)")
            expectClean(result)
        }
    }

    @Test func programSeesExactlyWhatWasConfigured() throws {
        try withScratch("launch-describe") { scratch throws in
            let result = try launch(scratch, ["--cwd", scratch.path, "--umask", "037", "--env", "ONLY=this", "--env", "OTHER=x y",
                                              "--fd", "5", "--session"], [fixture, "describe"])
            #expect(result.values["outcome"] == "ok exited with status 0", "\(result)")
            expectClean(result)
            let v = result.values
            #expect(v["cwd"] == scratch.path)
            #expect(v["umask"] == "37")
            #expect(v["env"] == "ONLY=this\u{1}OTHER=x y")
            #expect(v["fds"] == "0,1,2,5")
            #expect(v["fd0"] == "/dev/null")
            #expect(v["fd5"] == "/dev/null")
            #expect(v["sid"] == v["pid"])
            #expect(v["pgid"] == v["pid"])
        }
    }

    /// The child is made with CLONE_VM (it shares the launcher's memory until
    /// it execs), so its privilege drop is the kernel's own calls: glibc's
    /// setuid would mark and signal the launcher's threads, under a lock one of
    /// them may hold (a race this test cannot force). What it checks: the
    /// program runs as the user, and every thread of the launcher is still root.
    @Test(.requires(.hostileUser)) func privilegeDropInTheChildLeavesTheLaunchersThreadsAlone() throws {
        let user = try HostileUser.require()
        try withScratch("launch-user") { scratch throws in
            let result = try launch(scratch, ["--threads", "--user", HostileUser.name], [fixture, "describe"])
            #expect(result.values["outcome"] == "ok exited with status 0", "\(result)")
            #expect(result.values["uid"] == "\(user.uid)", "\(result)")
            #expect(result.values["gid"] == "\(user.gid)", "\(result)")
            let tasks = try #require(result.values["task-uids"]).split(separator: " ")
            #expect(tasks.count == 4, "\(result)")
            #expect(tasks.allSatisfy { $0 == "0,0,0,0/0,0,0,0" }, "\(result)")
            expectClean(result)
        }
    }

    @Test func pathLookupFindsProgramsInPATH() throws {
        try withScratch("launch-path") { scratch throws in
            let result = try launch(scratch, ["--env", "PATH=/usr/bin:/bin"], ["true"])
            #expect(result.values["outcome"] == "ok exited with status 0", "\(result)")
            expectClean(result)
        }
    }
}

/// `Daemon.reexec`.
@Suite(.hangLimit) struct ReexecTests {
    @Test func sameExecutableSameArgumentsFreshDescriptors() throws {
        try withScratch("reexec") { scratch throws in
            let result = try run(product("fixture"), ["reexec", "one", "two words"], environment: scratch.environment)
            #expect(result.code == 0, "\(result)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            let first = lines.filter { !$0.hasPrefix("generation=1") }.prefix(4)
            let generations = lines.filter { $0.hasPrefix("generation=") }
            #expect(generations == ["generation=0", "generation=1"], "\(result)")
            let pids = lines.filter { $0.hasPrefix("pid=") }
            #expect(pids.count == 2 && pids[0] == pids[1], "same process: \(pids)")
            let args = lines.filter { $0.hasPrefix("args=") }
            #expect(args.count == 2 && args[0] == args[1], "\(args)")
            let fds = lines.filter { $0.hasPrefix("fds=") }
            #expect(fds.last == "fds=[0, 1, 2]", "\(fds) \(first)")
        }
    }
}
