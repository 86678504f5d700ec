import Glibc
@testable import Daemonize
import TestSupport
import Testing

/// The pure policy types, in process: no service is started.
@Suite struct PolicyTests {
    func configuration(_ edit: (inout ServiceConfiguration) throws -> Void = { _ in }) rethrows -> ServiceConfiguration {
        var c = ServiceConfiguration(name: ServiceName("p")!)
        try edit(&c)
        return c
    }

    // MARK: RestartSchedule

    @Test func noPolicyNeverRespawnsAndOnFailureStopsOnSuccess() throws {
        var never = RestartSchedule(try configuration { try $0.apply("restart", "no") })
        #expect(never.decide(.exited(1), ranFor: 0, now: 0) == .stop)
        var onFailure = RestartSchedule(try configuration())
        #expect(onFailure.decide(.exited(0), ranFor: 0, now: 0) == .stop)
        #expect(onFailure.decide(.signaled(.kill, coreDumped: false), ranFor: 0, now: 0) == .respawn(delay: 100_000_000, requested: false))
        var always = RestartSchedule(try configuration { try $0.apply("restart", "always") })
        #expect(always.decide(.exited(0), ranFor: 0, now: 0) == .respawn(delay: 100_000_000, requested: false))
    }

    @Test func backoffDoublesUpToTheMaximumAndAStableRunResetsIt() throws {
        var schedule = RestartSchedule(try configuration { try $0.apply("restart-max-delay", "1s"); try $0.apply("start-limit", "none") })
        let delays = (0..<6).map { _ -> Int64 in
            guard case .respawn(let delay, _) = schedule.decide(.exited(1), ranFor: 0, now: 0) else { return -1 }
            return delay / 1_000_000
        }
        #expect(delays == [100, 200, 400, 800, 1000, 1000])
        #expect(schedule.decide(.exited(1), ranFor: RestartSchedule.stableRun, now: 0) == .respawn(delay: 100_000_000, requested: false))
    }

    @Test func theRestartExitCodeRespawnsAtOnce() throws {
        var schedule = RestartSchedule(try configuration())
        #expect(schedule.decide(.exited(75), ranFor: 0, now: 0) == .respawn(delay: 0, requested: true))
    }

    @Test func theStartLimitGivesUpWithinItsPeriodOnly() throws {
        var schedule = RestartSchedule(try configuration { try $0.apply("start-limit", "3/60s") })
        for t in 0..<3 { schedule.started(at: Int64(t) * 1_000_000_000) }
        #expect(schedule.decide(.exited(1), ranFor: 0, now: 3_000_000_000) == .giveUp("failed: 3 starts in 1m, last exit status 1"))
        // A minute later the old starts no longer count.
        if case .giveUp = schedule.decide(.exited(1), ranFor: 0, now: 70_000_000_000) { Issue.record("old starts still count") }
    }

    @Test func startTimesStayBoundedHoweverOftenItRestarts() throws {
        var unlimited = RestartSchedule(try configuration { try $0.apply("start-limit", "none") })
        var limited = RestartSchedule(try configuration { try $0.apply("start-limit", "5/1h") })
        for t in 0..<10_000 {
            unlimited.started(at: Int64(t))
            limited.started(at: Int64(t))
        }
        #expect(unlimited.starts.isEmpty)
        #expect(limited.starts.count == 5)
    }

    // MARK: StopRequest, Lifecycle

    @Test func aStopRequestRoundTripsThroughOnePayload() {
        #expect(StopRequest.encode(signal: nil, timeout: nil) == nil)
        for signal in [nil, ProcessSignal.terminate, .user1, .kill] {
            for timeout in [nil, Interval.zero, .milliseconds(250), .seconds(3600)] where signal != nil || timeout != nil {
                let value = StopRequest.encode(signal: signal, timeout: timeout)!
                let decoded = StopRequest.decode(value)
                #expect(decoded.signal == signal && decoded.timeout == timeout, "\(String(describing: signal)) \(String(describing: timeout))")
            }
        }
    }

    @Test func aStopScheduleReadsBackAsWrittenAndRefusesWhatIsNotOne() {
        for text in ["TERM", "QUIT/5s/TERM/5s/KILL", "INT/250ms", "HUP/1s/TERM"] {
            #expect(StopSchedule(parsing: text)?.description == text, "\(text)")
        }
        #expect(StopSchedule(parsing: "sigquit/5/15")?.description == "QUIT/5s/TERM")
        for bad in ["", "/", "TERM/", "TERM/KILL", "5s/TERM", "TERM//KILL", "NOPE/5s", "TERM/5x", "TERM/forever",
                    Array(repeating: "TERM/1s", count: 17).joined(separator: "/")] {
            #expect(StopSchedule(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func theStopPlanFollowsTheScheduleAndEndsWithKillToEveryone() throws {
        func plan(_ options: [(String, String)], signal: ProcessSignal? = nil, timeout: Interval? = nil) throws -> [String] {
            let c = try configuration { c in for (k, v) in options { try c.apply(k, v) } }
            return StopRequest.plan(c, signal: signal, timeout: timeout).steps.map {
                "\($0.signal.name)\($0.wait.map { " \($0)" } ?? "")\($0.everyone ? "" : " main")"
            }
        }
        #expect(try plan([]) == ["TERM 10s", "KILL"])
        #expect(try plan([("stop-signal", "QUIT/5s/TERM/5s/KILL")]) == ["QUIT 5s", "TERM 5s", "KILL"])
        #expect(try plan([("stop-signal", "QUIT/5s/TERM"), ("stop-timeout", "2s")]) == ["QUIT 5s", "TERM 2s", "KILL"])
        #expect(try plan([("stop-signal", "TERM/1s/KILL/5s/QUIT")]) == ["TERM 1s", "KILL"], "nothing after KILL")
        #expect(try plan([("stop-signal", "KILL")]) == ["KILL"])
        #expect(try plan([("kill-mode", "main"), ("stop-signal", "QUIT/5s/TERM/5s")]) == ["QUIT 5s main", "TERM 5s", "KILL"])
        // stop --signal: that one signal; stop --timeout: KILL at the latest then.
        #expect(try plan([("stop-signal", "QUIT/5s/TERM/5s/KILL")], signal: .interrupt) == ["INT 10s", "KILL"])
        #expect(try plan([("stop-signal", "QUIT/5s/TERM/5s/KILL")], timeout: .seconds(7)) == ["QUIT 5s", "TERM 2s", "KILL"])
        #expect(try plan([("stop-signal", "QUIT/5s/TERM/5s/KILL")], timeout: .seconds(3)) == ["QUIT 3s", "KILL"])
        #expect(try plan([("stop-signal", "QUIT/5s/TERM")], timeout: .seconds(3600)) == ["QUIT 5s", "TERM 3595s", "KILL"])
        #expect(try plan([], timeout: .zero) == ["TERM 0", "KILL"])
        #expect(StopRequest.plan(try configuration { try $0.apply("stop-signal", "QUIT/5s/TERM/5s/KILL") }).total == .seconds(10))
    }

    @Test func theRecordedPhaseIsDerivedFromTheLifecycle() {
        let cases: [(Lifecycle.Phase, ServiceState.Phase)] = [
            (.starting(windowEnd: 1, timeout: nil), .starting), (.running, .running), (.backoff(until: 5), .backoff),
            (.stopping(nextStepAt: 1, after: .respawn(delay: 0)), .backoff), (.stopping(nextStepAt: nil, after: .exit(.stopped)), .stopping),
            (.finished(.failed), .failed),
        ]
        for (phase, recorded) in cases {
            #expect(Lifecycle(phase: phase).recorded == recorded, "\(phase)")
        }
        #expect(Lifecycle(phase: .starting(windowEnd: 7, timeout: 3)).deadline == 3)
        #expect(Lifecycle(phase: .running).deadline == nil)
    }

    // MARK: The log's rotation

    /// Relays `bytes` through a pipe into a log at `path`.
    func relay(_ bytes: [UInt8], into log: ServiceLog) throws {
        let pipe = try FileDescriptor.pipe(nonBlocking: true)
        defer { pipe.read.close() }
        var offset = 0
        while offset < bytes.count {
            let n = min(32768, bytes.count - offset)
            try pipe.write.writeAll(bytes[offset..<(offset + n)])
            offset += n
            _ = log.relay(from: pipe.read)
        }
        pipe.write.close()
        _ = log.relay(from: pipe.read)
    }

    @Test func rotationHappensBetweenLinesAndNoFilePassesItsSize() throws {
        try withScratch("policy-rotate") { scratch throws in
            let path = scratch.file("x.log")
            let log = try ServiceLog(target: .file(path), maxSize: ByteSize(bytes: 4096), keep: 2, timestamps: false)
            let lines = (1...600).map { "line \($0) of some length\n" }.joined()
            try relay(Array(lines.utf8), into: log)
            var seen: [String] = []
            for name in [path + ".2", path + ".1", path] {
                let text = String(decoding: try FileSystem.read(name), as: UTF8.self)
                #expect(text.utf8.count <= 4096, "\(name) is \(text.utf8.count) bytes")
                #expect(text.hasSuffix("\n"), "\(name) ends mid-line")
                seen += text.split(separator: "\n").map(String.init)
            }
            #expect(!FileSystem.exists(path + ".3"), "more files than kept")
            #expect(seen.last == "line 600 of some length")
            #expect(seen.allSatisfy { $0.hasPrefix("line ") }, "a line was cut")
        }
    }

    @Test func aLineWithoutEndIsCutAtTheSize() throws {
        try withScratch("policy-endless") { scratch throws in
            let path = scratch.file("x.log")
            let log = try ServiceLog(target: .file(path), maxSize: ByteSize(bytes: 4096), keep: 1, timestamps: false)
            try relay([UInt8](repeating: UInt8(ascii: "y"), count: 20_000), into: log)
            for name in [path, path + ".1"] {
                #expect((try FileSystem.linkStatus(name)?.st_size ?? 0) <= 4096, "\(name)")
            }
        }
    }

    // MARK: The watch's debounce

    @Test func aWatchedChangeIsDueAfterTheQuietTimeAndSameBytesAreNone() throws {
        try withScratch("policy-watch") { scratch throws in
            let file = scratch.file("app.conf")
            try FileSystem.writeAtomically(file, Array("one\n".utf8))
            let watcher = try FileWatcher(paths: [scratch.path])
            let before = Monotonic.now()
            try FileSystem.writeAtomically(file, Array("two\n".utf8))
            watcher.readEvents()
            let due = try #require(watcher.dueAt)
            #expect(due - before >= FileWatcher.debounce && due - Monotonic.now() <= FileWatcher.debounce)
            #expect(watcher.takeChanges())
            try FileSystem.writeAtomically(file, Array("two\n".utf8))
            watcher.readEvents()
            #expect(!watcher.takeChanges(), "the same bytes again are no change")
        }
    }

    // MARK: Errors, text

    @Test func catchErrnoMatchesTheErrnoOfASystemError() {
        do {
            _ = try FileDescriptor.open("/nonexistent-swiftd/x", O_RDONLY)
            Issue.record("opened")
        } catch Errno.noSuchFile {
            // What a caller writes, as with swift-system.
        } catch {
            Issue.record("\(error)")
        }
        #expect(Errno.tooManySymbolicLinks.rawValue == ELOOP && Errno.notImplemented.rawValue == ENOSYS)
    }

    @Test func whatAServiceSentIsEscaped() {
        #expect(Escaped.line("a\u{1b}[2Jb\u{7}\nc\u{9b}") == "a\\x1b[2Jb\\x07\\x0ac\\u{9b}")
        // Nothing to escape: the text as it was (U+00A0 is 0xC2 0xA0, the byte after the C1 range).
        #expect(Escaped.line("web: running (pid 7), \u{a0}é\u{ff}€ 𝄞") == "web: running (pid 7), \u{a0}é\u{ff}€ 𝄞")
        #expect(Escaped.line("\u{80}\u{9f}\u{7f}x") == "\\u{80}\\u{9f}\\x7fx")
        let split = Escaped.log(Array("é".utf8).dropLast() + [], final: false)
        #expect(split.text.isEmpty && split.rest == [0xc3])
        let joined = Escaped.log(split.rest + [0xa9, 10, 0x1b], final: true)
        #expect(String(decoding: joined.text, as: UTF8.self) == "é\n\\x1b")
        #expect(String(decoding: Escaped.log([0xff, 9, 65]).text, as: UTF8.self) == "\\xff\tA")
    }

    @Test func aCombiningMarkNeverHidesACommentOrASlash() throws {
        var c = ServiceConfiguration(name: ServiceName("p")!)
        var origins: [String: String] = [:]
        let text = "command = /bin/true\nlog = /tmp/a.log #\u{301} a comment\nchdir = /\u{301}srv\n"
        try ConfigurationFile.apply(contents: Array(text.utf8), path: "/etc/swiftd/p.conf", to: &c, origins: &origins)
        #expect(c.log == .file("/tmp/a.log"))
        #expect(c.chdir == "/\u{301}srv", "a path that begins with / is absolute, whatever follows")
    }
}
