import Glibc
import Daemonize
import TestSupport
import Testing

/// Another local user racing the paths swiftd creates, opens or changes
/// after the start, played by the real user `swiftd-test` (SECURITY.md,
/// "Any other local user"): whatever it swaps into a name it can write, root
/// never changes, opens, probes or removes another file through that name.
@Suite(.requires(.hostileUser), .hangLimit)
struct HostileUserPathTests {
    /// `--listen unix:PATH,owner=U,mode=M` in a directory U can write: U
    /// swaps the new socket with a symlink to a root-owned file, or with a
    /// root-owned file of that directory, between root's calls.
    @Test(.serialized, arguments: [false, true])
    func aRacingUserNeverGetsASocketsModeOrOwnerOntoAnotherFile(file: Bool) throws {
        try withUserHarness("race-socket") { h, user throws in
            let outcome = try raceSocketFile(h, user, rounds: 20, file: file)
            #expect(outcome.problems.isEmpty, "\(outcome.problems)")
            #expect(outcome.exchanges > 0, "the racer swapped the socket's file")
            #expect(outcome.started > 0, "some starts worked while it raced")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// The log dir sits in a directory another user owns (who cannot touch
    /// root's log dir, but can rename it). The user renames it away and puts
    /// its own directory, or a symlink to a root-owned directory, in its
    /// place; then the log is reopened (`swiftd reopen`, as logrotate's
    /// postrotate does) or rotated (the service prints past its size).
    /// Nothing may be created, renamed or removed in the user's directory or
    /// through the symlink; the lines are dropped and counted until the log
    /// dir is root's again.
    @Test(arguments: ["own directory", "symlink"], ["reopen", "rotation"])
    func aLogDirAnotherUserPutsInItsPlaceIsRefused(plant: String, trigger: String) throws {
        try withUserHarness("user-logdir") { h, user throws in
            let parent = h.scratch.file("shared")
            mkdir(parent, 0o755)
            chown(parent, user.uid, user.gid)
            let logs = Path.join(parent, "logs"), log = Path.join(logs, "app.log")
            let target = h.scratch.file("target")
            mkdir(target, 0o755)
            let kept = (1...5).map { "app.log.\($0)" } + ["app.log"]
            for name in kept.dropLast() { try FileSystem.writeAtomically(Path.join(target, name), Array("root's \(name)\n".utf8)) }
            let size = trigger == "rotation" ? ["--log-max-size", "4K"] : []
            let start = try h.startService("app", ["--log", log] + size, service: ["--print-numbered", "1000000", "--every", "10"])
            #expect(start.code == 0, "\(start)")
            #expect(eventually { h.text("shared/logs/app.log").contains("seq ") })
            let planted = plant == "symlink" ? "mv \(logs) \(parent)/old && ln -s \(target) \(logs)" : "mv \(logs) \(parent)/old && mkdir \(logs)"
            let moved = try user.run(h, "/bin/sh", ["-c", planted])
            #expect(moved.code == 0, "\(moved)")
            if trigger == "reopen" {
                let reopen = try h.swiftd(["reopen", "app"])
                #expect(reopen.code == 0, "\(reopen)")
            }
            // The supervisor has looked, refused, and counts what it drops.
            #expect(eventually(timeout: 20) { (h.state("app")?.droppedLines ?? 0) > 0 }, "\(h.state("app").map { "\($0)" } ?? "no record")")
            if plant == "symlink" {
                let names = (try? run("/bin/ls", ["-A", target]).stdout) ?? ""
                #expect(names.split(separator: "\n").map(String.init).sorted() == kept.dropLast().sorted(), "the root-owned directory changed: \(names)")
                for name in kept.dropLast() { #expect(h.text("target/\(name)") == "root's \(name)\n") }
                let mine = try user.run(h, "/bin/rm", [logs])
                #expect(mine.code == 0, "\(mine)")
            } else {
                let names = (try? run("/bin/ls", ["-A", logs]).stdout) ?? ""
                #expect(names.isEmpty, "root created files in the other user's directory: \(names)")
                let mine = try user.run(h, "/bin/rmdir", [logs])
                #expect(mine.code == 0, "\(mine)")
            }
            // Once the name is free, the supervisor makes its log dir again.
            #expect(try h.swiftd(["reopen", "app"]).code == 0)
            #expect(eventually { h.text("shared/logs/app.log").contains("swiftd: dropped") || h.text("shared/logs/app.log.1").contains("swiftd: dropped") })
            #expect(try FileSystem.linkStatus(logs).map { $0.st_uid == 0 && $0.st_mode & S_IFMT == S_IFDIR } == true)
            #expect(try h.swiftd(["stop", "app"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// The run dir sits in a directory another user owns. The user renames it
    /// away and puts its own directory, or a symlink to a root-owned
    /// directory, in its place while the service restarts (each restart is
    /// recorded, and the supervisor looks for its pidfile at each signal):
    /// the supervisor writes no record, temporary file or pidfile there.
    @Test(arguments: ["own directory", "symlink"])
    func aRunDirAnotherUserPutsInItsPlaceGetsNoFile(plant: String) throws {
        try withUserHarness("user-rundir") { h, user throws in
            let parent = h.scratch.file("shared")
            mkdir(parent, 0o755)
            chown(parent, user.uid, user.gid)
            let runDirectory = Path.join(parent, "run")
            let target = h.scratch.file("target")
            mkdir(target, 0o755)
            try FileSystem.writeAtomically(Path.join(target, "keep"), Array("root's\n".utf8))
            let stamps = h.scratch.file("stamps")
            func swiftd(_ arguments: [String]) throws -> RunResult {
                let options = ["--run-dir", runDirectory, "--log-dir", h.logDirectory]
                let dash = arguments.firstIndex(of: "--") ?? arguments.endIndex
                return try run(h.swiftdPath, Array(arguments[..<dash]) + options + arguments[dash...], environment: h.scratch.environment)
            }
            func starts() -> Int { h.text("stamps").split(separator: "\n").filter { $0.hasPrefix("start ") }.count }
            let start = try swiftd(["start", "app", "--restart", "always", "--restart-delay", "100ms", "--start-limit", "none",
                                    "--", h.fixturePath, "service", "--stamp", stamps, "--exit", "0", "--after", "300"])
            #expect(start.code == 0, "\(start)")
            let planted = plant == "symlink" ? "mv \(runDirectory) \(parent)/old && ln -s \(target) \(runDirectory)"
                : "mv \(runDirectory) \(parent)/old && mkdir \(runDirectory)"
            let moved = try user.run(h, "/bin/sh", ["-c", planted])
            #expect(moved.code == 0, "\(moved)")
            // Two more runs of the service: two more records, and many looks for the pidfile.
            let before = starts()
            #expect(eventually(timeout: 20) { starts() >= before + 2 }, "the service restarts meanwhile")
            let inPlace = plant == "symlink" ? target : runDirectory
            let names = (try? run("/bin/ls", ["-A", inPlace]).stdout) ?? ""
            #expect(names == (plant == "symlink" ? "keep\n" : ""), "root wrote in \(inPlace): \(names)")
            #expect(h.text("target/keep") == "root's\n")
            // The user gives the name back: the supervisor records again, and stops.
            let back = try user.run(h, "/bin/sh", ["-c", "rm -r \(runDirectory) && mv \(parent)/old \(runDirectory)"])
            #expect(back.code == 0, "\(back)")
            let stop = try swiftd(["stop", "app"])
            #expect(stop.code == 0 && stop.stdout.contains("app stopped"), "\(stop)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }
}
