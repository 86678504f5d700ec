import Glibc
import Testing
import Daemonize

/// The seeds' patterns built from public pieces: a restarter, an
/// autoreloader, a hot swap on a checksum change, a supervisor without
/// swiftd's run files.
@Suite(.hangLimit)
struct ReloadExampleTests {
    /// A command that counts its runs in `counter` and exits 75 until the
    /// `runs`th, then with `last`.
    static func counting(_ counter: String, runs: Int, last: Int) -> [String] {
        ["/bin/sh", "-c", "n=$(cat \(counter) 2>/dev/null || echo 0); n=$((n+1)); echo $n > \(counter); [ $n -lt \(runs) ] && exit 75; exit \(last)"]
    }

    @Test func restarterRelaunchesUntilTheStatusIsNot75() {
        withSandbox("restarter") { sandbox in
            let counter = sandbox.file("runs")
            let result = sandbox.run("restarter", Self.counting(counter, runs: 3, last: 4))
            #expect(result.code == 4, "\(result)")
            #expect(sandbox.read(counter) == "3\n")
        }
    }

    @Test func autoreloadRestartsItsChildOnAContentChangeAndStopsItWithItself() throws {
        try withSandbox("autoreload") { sandbox in
            let source = sandbox.file("app.src")
            sandbox.write(source, "version 1\n")
            let output = sandbox.file("out")
            let parent = sandbox.spawn("autoreload", [source], output: output)
            #expect(eventually { sandbox.read(output).contains("serving") })
            let first = servingPIDs(sandbox.read(output))
            // The same bytes written again: no change. The child reads the
            // file to compare; once it has looked again (at a touch), what the
            // first look decided was done: a reload says so before its exit.
            let reads = try #require(FileReads(source))
            sandbox.write(source, "version 1\n")
            #expect(reads.wait(), "the child looked at the same bytes")
            #expect(sandbox.shell("touch '\(source)'") == 0)
            #expect(reads.wait(), "the child looked at the touch")
            #expect(!sandbox.read(output).contains("sources changed"), "\(sandbox.read(output))")
            #expect(servingPIDs(sandbox.read(output)) == first, "\(sandbox.read(output))")
            sandbox.write(source, "version 2\n")
            #expect(eventually { servingPIDs(sandbox.read(output)).count == 2 }, "\(sandbox.read(output))")
            #expect(sandbox.read(output).contains("sources changed: reloading"))
            let pids = servingPIDs(sandbox.read(output))
            #expect(pids.count == 2 && pids.first != pids.last, "\(pids)")
            // SIGTERM to the parent ends the child too.
            kill(parent, SIGTERM)
            _ = sandbox.wait(parent)
            #expect(eventually { sandbox.processes().isEmpty }, "the child outlived its parent")
        }
    }

    func servingPIDs(_ text: String) -> [String] {
        text.split(separator: "\n").filter { $0.hasPrefix("serving (pid ") }.map(String.init)
    }

    @Test func hotswapRunsTheNewBinaryKeepingItsPidAndItsLock() throws {
        try withSandbox("hotswap") { sandbox in
            let app = sandbox.file("app")
            #expect(sandbox.shell("cp '\(Sandbox.product("hotswap"))' '\(app)'") == 0)
            let pidFile = sandbox.file("app.pid"), log = sandbox.file("app.log")
            let start = sandbox.run(app, ["--pidfile", pidFile, "--log", log])
            #expect(start.code == 0, "\(start)")
            let pid = try #require(readPID(pidFile, sandbox))
            #expect(start.stdout == "hotswap \(pid) ready\n")
            // The same bytes copied over it (from the build, not from app, so
            // that only hotswap reads app): no change. Once it has looked again
            // (at a touch), what the first look decided was done: a re-exec
            // says so first.
            #expect(eventually { sandbox.read(log).contains("watching \(app)\n") }, "its watcher has read the file")
            let reads = try #require(FileReads(app))
            #expect(sandbox.shell("cp '\(Sandbox.product("hotswap"))' '\(app).same' && mv '\(app).same' '\(app)'") == 0)
            #expect(reads.wait(), "hotswap looked at the new file")
            #expect(sandbox.shell("touch '\(app)'") == 0)
            #expect(reads.wait(), "hotswap looked at the touch")
            #expect(!sandbox.read(log).contains("executable changed") && !sandbox.read(log).contains("generation 2"), "\(sandbox.read(log))")
            // A new version (other bytes) installed by rename, as a package manager does.
            #expect(sandbox.shell("cp '\(app)' '\(app).new' && printf 'v2' >> '\(app).new' && mv '\(app).new' '\(app)'") == 0)
            #expect(eventually { sandbox.read(log).contains("generation 2 pid \(pid) exe \(app)\n") }, "\(sandbox.read(log))")
            var st = stat()
            stat(app, &st)
            var running = stat()
            stat("/proc/\(pid)/exe", &running)
            #expect(running.st_ino == st.st_ino, "the running program is the new file")
            #expect(PIDFile.status(at: pidFile) == .running(pid: pid))
            #expect(PIDFile.lockHolder(at: pidFile) == pid)
        }
    }

    @Test func aDaemonThatReexecsBeforeReadyStillReportsToItsLauncher() throws {
        try withSandbox("hotswap-early") { sandbox in
            let pidFile = sandbox.file("app.pid"), log = sandbox.file("app.log")
            let start = sandbox.run("hotswap", ["--pidfile", pidFile, "--log", log, "--reexec-before-ready"], timeout: 20)
            #expect(start.code == 0, "\(start)")
            let pid = try #require(readPID(pidFile, sandbox))
            #expect(start.stdout == "hotswap \(pid) ready\n")
            let lines = sandbox.read(log).split(separator: "\n").filter { $0.hasPrefix("generation") }
            #expect(lines.count == 2 && lines.allSatisfy { $0.contains("pid \(pid) ") }, "\(lines)")
            #expect(PIDFile.lockHolder(at: pidFile) == pid)
        }
    }

    @Test func superviseRespawnsOnlyOn75AndWritesNoRunFiles() {
        withSandbox("supervise") { sandbox in
            let counter = sandbox.file("runs")
            let result = sandbox.run("supervise", ["--pidfile", sandbox.file("s.pid")] + Self.counting(counter, runs: 3, last: 3))
            #expect(result.code == 3, "\(result)")
            #expect(sandbox.read(counter) == "3\n")
            let other = sandbox.file("other")
            let failed = sandbox.run("supervise", Self.counting(other, runs: 1, last: 1))
            #expect(failed.code == 1, "\(failed)")
            #expect(sandbox.read(other) == "1\n", "restart = no: a failure is not respawned")
            // Nothing but what the test and the commands wrote.
            let entries = Set(sandbox.run("/bin/ls", ["-A", sandbox.directory]).stdout.split(separator: "\n").map(String.init))
            #expect(entries.allSatisfy { $0 == "runs" || $0 == "other" || $0.hasPrefix(".out") }, "\(entries)")
        }
    }
}
