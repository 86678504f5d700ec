import Glibc
import Daemonize
import TestSupport
import Testing

/// restart, reload, signal, list, logs.
@Suite(.hangLimit) struct ControlTests {
    @Test func restartKeepsTheCommandAndChangesThePid() throws {
        try withHarness("restart") { h throws in
            #expect(try h.startService("web", ["--env", "MARK=1"], service: ["--print", "1"]).code == 0)
            let first = try #require(h.pid("web"))
            let restart = try h.swiftd(["restart", "web"])
            #expect(restart.code == 0, "\(restart)")
            let second = try #require(h.pid("web"))
            #expect(second != first)
            #expect(restart.stdout == "web restarted (pid \(second))\n")
            #expect(!h.isAlive(first))
            #expect(h.state("web")?.configuration.command == [h.fixturePath, "service", "--print", "1"])
            #expect(h.state("web")?.configuration.environment == ["MARK=1"])
        }
    }

    @Test func restartAfterStopUsesTheRecord() throws {
        try withHarness("restart-stopped") { h throws in
            #expect(try h.startService("web").code == 0)
            #expect(try h.swiftd(["stop", "web"]).code == 0)
            let restart = try h.swiftd(["restart", "web", "--min-uptime", "0"])
            #expect(restart.code == 0, "\(restart)")
            #expect(h.state("web")?.configuration.minUptime == .zero)
        }
    }

    /// How a restart is carried out: by a stop and a start (with a new
    /// supervisor, or none in exec mode), or in place by the supervisor.
    enum RestartKind: String, CaseIterable, CustomStringConvertible {
        case stopFirst = "stop-first", exec, listen, overlap
        var description: String { rawValue }

        func options(port: UInt16) -> [String] {
            switch self {
            case .stopFirst: return []
            case .exec: return ["--no-supervise"]
            case .listen: return ["--listen", "tcp:127.0.0.1:\(port)"]
            case .overlap: return ["--restart-mode", "overlap"]
            }
        }
    }

    /// Each `restart` counts, whichever way it is carried out, and so does a
    /// restart with other options (a stop and a start even in place) and a
    /// respawn after them; a start after a stop begins at 0 again. (A stop
    /// and a start began at 0 each time: redis showed "0 restarts" after 50.)
    @Test(arguments: RestartKind.allCases)
    func everyRestartCounts(_ kind: RestartKind) throws {
        try withHarness("restart-count-\(kind)") { h throws in
            #expect(try h.startService("web", kind.options(port: try Loopback.freePort())).code == 0)
            for round in 1...3 {
                let restart = try h.swiftd(["restart", "web"])
                #expect(restart.code == 0, "\(restart)")
                #expect(h.state("web")?.restarts == round, "restart \(round): \(String(describing: h.state("web")?.restarts))")
            }
            let changed = try h.swiftd(["restart", "web", "--min-uptime", "50ms"])
            #expect(changed.code == 0, "\(changed)")
            #expect(h.state("web")?.restarts == 4)
            let status = try h.swiftd(["status", "web"])
            #expect(status.stdout.contains(", 4 restarts"), "\(status)")
            #expect(try h.swiftd(["status", "web", "--json"]).stdout.contains("\"restarts\":4"))
            if kind != .exec {
                let main = try #require(h.pid("web"))
                kill(main, SIGKILL)
                #expect(eventually { h.state("web")?.restarts == 5 && h.state("web")?.phase == .running }, "a respawn counts on")
            }
            #expect(try h.swiftd(["stop", "web"]).code == 0)
            #expect(try h.swiftd(["start", "web"]).code == 0)
            #expect(h.state("web")?.restarts == 0, "a start after a stop begins again")
        }
    }

    @Test func reloadSendsHUPAndSignalSendsWhatItIsTold() throws {
        try withHarness("reload") { h throws in
            let signals = h.scratch.file("signals")
            #expect(try h.startService("web", ["--ready", "fd:9"], service: ["--record-signals", signals, "--fd-ready", "9"]).code == 0)
            let reload = try h.swiftd(["reload", "web"])
            #expect(reload.code == 0, "\(reload)")
            #expect(eventually { h.text("signals").contains("HUP") })
            let signal = try h.swiftd(["signal", "web", "SIGUSR1"])
            #expect(signal.code == 0, "\(signal)")
            #expect(eventually { h.text("signals").contains("USR1") })
            #expect(h.isAlive(try #require(h.pid("web"))))
        }
    }

    @Test func reloadSignalIsConfigurable() throws {
        try withHarness("reload-signal") { h throws in
            let signals = h.scratch.file("signals")
            #expect(try h.startService("web", ["--reload-signal", "USR2", "--ready", "fd:9"], service: ["--record-signals", signals, "--fd-ready", "9"]).code == 0)
            #expect(try h.swiftd(["reload", "web"]).code == 0)
            #expect(eventually { h.text("signals").contains("USR2") })
            #expect(!h.text("signals").contains("HUP"))
        }
    }

    @Test func reloadAndSignalAreThreeWhenNotRunning() throws {
        try withHarness("reload-none") { h throws in
            #expect(try h.swiftd(["reload", "web"]).code == 3)
            #expect(try h.swiftd(["signal", "web", "TERM"]).code == 3)
        }
    }

    @Test func listShowsEveryServiceWithItsState() throws {
        try withHarness("list") { h throws in
            #expect(try h.startService("alpha").code == 0)
            #expect(try h.startService("beta").code == 0)
            #expect(try h.swiftd(["stop", "beta"]).code == 0)
            let list = try h.swiftd(["list"])
            #expect(list.code == 0)
            let lines = list.stdout.split(separator: "\n")
            try #require(lines.count == 3, "\(list)")
            #expect(lines[1].hasPrefix("alpha") && lines[1].contains("running"))
            #expect(lines[2].hasPrefix("beta") && lines[2].contains("stopped"))
            // Columns line up, and the command is shown as a shell would take it back.
            let header = lines[0]
            let state = header.distance(from: header.startIndex, to: try #require(header.firstRange(of: "STATE")).lowerBound)
            #expect(lines[1].dropFirst(state).hasPrefix("running") && lines[2].dropFirst(state).hasPrefix("stopped"), "\(list)")
            #expect(try h.startService("gamma", service: ["--tag", "é'x"]).code == 0)
            let again = try h.swiftd(["list"]).stdout.split(separator: "\n")
            #expect(again.count == 4 && again[3].hasSuffix(" service --tag 'é'\\''x'"), "\(again)")
            let json = try h.swiftd(["list", "--json"])
            #expect(json.stdout.hasPrefix("[{\"name\":\"alpha\",\"state\":\"running\""), "\(json)")
            #expect(json.stdout.contains("{\"name\":\"beta\",\"state\":\"stopped\""))
        }
    }

    @Test func logsPrintsTheLastLines() throws {
        try withHarness("logs") { h throws in
            #expect(try h.startService("chatty", service: ["--print", "50"]).code == 0)
            #expect(eventually { h.log("chatty").contains("line 50 of 50") })
            let logs = try h.swiftd(["logs", "chatty", "-n", "3"])
            #expect(logs.code == 0)
            #expect(logs.stdout == "line 48 of 50\nline 49 of 50\nline 50 of 50\n", "\(logs)")
        }
    }

    /// `logs -f` follows from where its tail ended, in the file the tail
    /// read: a line written, and a rotation made, while it prints the tail
    /// are both seen (it paused at a debug-build crash point meanwhile).
    @Test func logsFollowMissesNothingWrittenWhileTheTailPrints() throws {
        try withHarness("logs-follow-gap") { h throws in
            try FileSystem.makeDirectories(h.logDirectory, mode: 0o755)
            let log = h.logFile("g")
            try FileSystem.writeAtomically(log, Array("old 1\n".utf8))
            let env = h.environment(pausingAt: "logs-after-tail")
            let follower = try h.spawnSwiftd(["logs", "g", "-f", "-n", "1"], environment: env)
            defer { follower.signal(SIGKILL); _ = follower.wait(timeout: 5) }
            let paused = try #require(h.stoppedProcess(), "logs paused after its tail")
            appendLine(log, "while the tail printed")
            #expect(Glibc.rename(log, log + ".1") == 0)
            appendLine(log, "in the new file")
            kill(paused, SIGCONT)
            #expect(eventually { follower.outputSoFar().contains("in the new file") })
            let text = follower.outputSoFar()
            #expect(text == "old 1\nwhile the tail printed\nin the new file\n", "\(text)")
        }
    }

    @Test func logsFollowsAcrossRotation() throws {
        try withHarness("logs-follow") { h throws in
            try FileSystem.makeDirectories(h.logDirectory, mode: 0o755)
            let log = h.logFile("f")
            try FileSystem.writeAtomically(log, Array("old 1\n".utf8))
            let follower = try h.spawnSwiftd(["logs", "f", "-f", "-n", "1"])
            #expect(eventually { follower.outputSoFar().contains("old 1") })
            appendLine(log, "before rotation")
            #expect(eventually { follower.outputSoFar().contains("before rotation") })
            appendLine(log, "just before rotation")
            #expect(Glibc.rename(log, log + ".1") == 0)
            appendLine(log, "after rotation")
            #expect(eventually { follower.outputSoFar().contains("after rotation") })
            let text = follower.outputSoFar()
            #expect(text == "old 1\nbefore rotation\njust before rotation\nafter rotation\n", "\(text)")
            follower.signal(SIGTERM)
            _ = follower.wait(timeout: 5)
        }
    }

    func appendLine(_ path: String, _ line: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        _ = (line + "\n").withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }
}
