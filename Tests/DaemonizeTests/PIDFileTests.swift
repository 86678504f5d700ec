import Glibc
import Daemonize
import TestSupport
import Testing

/// `PIDFile`: locking, probing, stale and hostile files.
@Suite(.hangLimit) struct PIDFileTests {
    let fixture = product("fixture")

    @Test func secondAcquireNamesTheHolder() throws {
        try withScratch("pid-second") { scratch throws in
            let path = scratch.file("x.pid")
            let holder = try Spawned.start(fixture, ["acquire", path], environment: scratch.environment)
            #expect(eventually { PIDFile.status(at: path) == .running(pid: holder.pid) && PIDFile.lockHolder(at: path) == holder.pid })
            let second = try run(fixture, ["acquire", path], environment: scratch.environment)
            #expect(second.code == 1)
            #expect(second.values["locked"] == "\(holder.pid)")
            #expect(second.values["holder"] == "\(holder.pid)")
        }
    }

    @Test func twentyRacersOneWinner() throws {
        try withScratch("pid-race") { scratch throws in
            let path = scratch.file("race.pid")
            let racers = try (0..<20).map { _ in
                try Spawned.start(fixture, ["acquire", path, "--hold-ms", "3000"], environment: scratch.environment)
            }
            let results = racers.map { $0.wait() }
            let winners = zip(racers, results).filter { $0.1.values["acquired"] != nil }
            #expect(winners.count == 1, "\(results)")
            let winner = try #require(winners.first).0.pid
            for result in results where result.values["acquired"] == nil {
                #expect(result.values["locked"] == "\(winner)", "\(result)")
            }
        }
    }

    @Test func holderThatHasNotWrittenItsPidYetIsWaitedFor() throws {
        try withScratch("pid-late") { scratch throws in
            let path = scratch.file("late.pid")
            let holder = try Spawned.start(fixture, ["acquire", path, "--no-pid", "--hold-ms", "200", "--write-after", "--hold-more-ms", "2000"],
                                           environment: scratch.environment)
            #expect(eventually { if case .running = PIDFile.status(at: path) { return true } else { return false } })
            let second = try run(fixture, ["acquire", path], environment: scratch.environment)
            #expect(second.values["locked"] == "\(holder.pid)", "\(second)")
        }
    }

    @Test func probeNeverMakesAnAcquireFail() throws {
        try withScratch("pid-probe") { scratch throws in
            let path = scratch.file("p.pid")
            // A prober hammering the file while acquirers come and go.
            for _ in 0..<30 {
                let prober = try Spawned.start("/bin/sh", ["-c", "while :; do \(fixture) probe \(path) >/dev/null; done"], environment: scratch.environment)
                let result = try run(fixture, ["acquire", path, "--hold-ms", "1"], environment: scratch.environment)
                #expect(result.values["acquired"] != nil, "\(result)")
                kill(-prober.pid, SIGKILL)
                _ = prober.wait()
            }
        }
    }

    @Test func staleFileOfALiveStrangerIsTakenOverAndTheStrangerLeftAlone() throws {
        try withScratch("pid-stale") { scratch throws in
            let path = scratch.file("s.pid")
            let stranger = try Spawned.start("/bin/sleep", ["30"], environment: scratch.environment)
            try FileSystem.writeAtomically(path, Array("\(stranger.pid)\n".utf8))
            #expect(PIDFile.status(at: path) == .stale(pid: stranger.pid))
            let signal = try run(fixture, ["signal", path, "TERM"], environment: scratch.environment)
            #expect(signal.values["sent"] == "no")
            let take = try Spawned.start(fixture, ["acquire", path], environment: scratch.environment)
            #expect(eventually { PIDFile.status(at: path) == .running(pid: take.pid) && PIDFile.lockHolder(at: path) == take.pid })
            #expect(stranger.isRunning)
        }
    }

    @Test func signalGoesThroughALockedFile() throws {
        try withScratch("pid-signal") { scratch throws in
            let path = scratch.file("sig.pid")
            let holder = try Spawned.start(fixture, ["acquire", path], environment: scratch.environment)
            #expect(eventually { PIDFile.status(at: path) == .running(pid: holder.pid) && PIDFile.lockHolder(at: path) == holder.pid })
            let sent = try run(fixture, ["signal", path, "SIGTERM"], environment: scratch.environment)
            #expect(sent.values["sent"] == "yes")
            #expect(holder.wait(timeout: 5).status == .signaled(.terminate, coreDumped: false))
        }
    }

    @Test func symlinkIsRefusedAndItsTargetUntouched() throws {
        try withScratch("pid-symlink") { scratch throws in
            let target = scratch.file("precious")
            try FileSystem.writeAtomically(target, Array("precious\n".utf8))
            let path = scratch.file("l.pid")
            symlink(target, path)
            let result = try run(fixture, ["acquire", path], environment: scratch.environment)
            #expect(result.code == 2)
            #expect(result.values["error"]?.contains("symbolic link") == true, "\(result)")
            #expect(try FileSystem.read(target) == Array("precious\n".utf8))
            if case .unreadable = PIDFile.status(at: path) {} else { Issue.record("probe of a symlink: \(PIDFile.status(at: path))") }

            let dangling = scratch.file("d.pid")
            symlink(scratch.file("nowhere"), dangling)
            let second = try run(fixture, ["acquire", dangling], environment: scratch.environment)
            #expect(second.code == 2)
            #expect(!FileSystem.exists(scratch.file("nowhere")))
        }
    }

    @Test func fifoAndDirectoryAreRefused() throws {
        try withScratch("pid-fifo") { scratch throws in
            let fifo = scratch.file("f.pid")
            mkfifo(fifo, 0o644)
            let a = try run(fixture, ["acquire", fifo], environment: scratch.environment, timeout: 10)
            #expect(a.code == 2)
            #expect(a.values["error"]?.contains("not a regular file") == true, "\(a)")
            let dir = scratch.file("d.pid")
            mkdir(dir, 0o755)
            let b = try run(fixture, ["acquire", dir], environment: scratch.environment)
            #expect(b.code == 2, "\(b)")
        }
    }

    /// Pidfile contents that are not a pid, by name (the huge one would flood the log).
    static let garbage: [String: [UInt8]] = [
        "empty": [],
        "binary": [0, 1, 2, 0xff],
        "negative": Array("-5\n".utf8),
        "zero": Array("0\n".utf8),
        "too large": Array("99999999999\n".utf8),
        "trailing letters": Array("12abc\n".utf8),
        "one megabyte of digits": Array(repeating: UInt8(ascii: "7"), count: 1 << 20),
    ]

    @Test(arguments: garbage.keys.sorted())
    func garbageContentIsStaleAndTakenOver(kind: String) throws {
        let content = try #require(Self.garbage[kind])
        try withScratch("pid-garbage") { scratch throws in
            let path = scratch.file("g.pid")
            try FileSystem.writeAtomically(path, content)
            #expect(PIDFile.status(at: path) == .stale(pid: nil))
            let holder = try Spawned.start(fixture, ["acquire", path], environment: scratch.environment)
            #expect(eventually { PIDFile.status(at: path) == .running(pid: holder.pid) && PIDFile.lockHolder(at: path) == holder.pid })
            #expect(try FileSystem.read(path) == Array("\(holder.pid)\n".utf8))
        }
    }

    @Test func releaseRemovesOnlyItsOwnFile() throws {
        try withScratch("pid-release") { scratch throws in
            let path = scratch.file("r.pid")
            let result = try run(fixture, ["acquire", path, "--hold-ms", "10"], environment: scratch.environment)
            #expect(result.values["acquired"] != nil)
            #expect(!FileSystem.exists(path))
        }
    }

    @Test func strictParsing() {
        #expect(PIDFile.parsePID(Array("1234\n".utf8)) == 1234)
        #expect(PIDFile.parsePID(Array("1234".utf8)) == 1234)
        #expect(PIDFile.parsePID(Array("2147483647\n".utf8)) == Int32.max)
        #expect(PIDFile.parsePID(Array("2147483648\n".utf8)) == nil)
        #expect(PIDFile.parsePID(Array("01\n".utf8)) == nil)
        #expect(PIDFile.parsePID(Array(" 1\n".utf8)) == nil)
        #expect(PIDFile.parsePID(Array("1\n\n".utf8)) == nil)
        #expect(PIDFile.parsePID(Array("+1\n".utf8)) == nil)
        #expect(PIDFile.parsePID([UInt8]()) == nil)
    }
}
