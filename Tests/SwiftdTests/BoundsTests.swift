import Glibc
import Daemonize
import TestSupport
import Testing

/// What a service sends never reaches a terminal raw, and never makes its
/// supervisor grow without bound or stop answering: whatever it prints
/// (lines without end, control characters), sends (floods of STATUS=),
/// whatever its watched tree holds (symlink loops, swiftd's own log), and
/// however often it restarts (SECURITY.md, last paragraph).
@Suite(.hangLimit) struct BoundsTests {
    static let hostile = "\\x1b]0;pwned\\x07\\x1b[2Jred\\x00nul\\xc2\\x9bcsi"

    func expectNoControlCharacters(_ text: String, _ label: String) {
        let raw = text.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || (0x7f...0x9f).contains($0.value) }
        #expect(raw.isEmpty, "\(label): raw control characters \(raw.map { String($0.value, radix: 16) }) in \(text.debugDescription)")
    }

    @Test func whatAServiceSendsIsEscapedBeforeAPersonSeesIt() throws {
        try withHarness("bounds-escape") { h throws in
            let start = try h.startService("x", ["--ready", "notify"], service: ["--notify-status-escaped", Self.hostile, "--notify-ready-after", "50",
                                                                                 "--print-escaped", Self.hostile])
            #expect(start.code == 0, "\(start)")
            #expect(eventually { h.state("x")?.statusText?.contains("csi") == true }, "the STATUS= text (with a NUL) was recorded and reads back")
            let status = try h.swiftd(["status", "x"])
            #expect(status.code == 0, "\(status)")
            expectNoControlCharacters(status.stdout, "status")
            #expect(status.stdout.contains("\\x1b]0;pwned\\x07") && status.stdout.contains("\\x00nul") && status.stdout.contains("\\u{9b}csi"), "\(status)")
            let json = try h.swiftd(["status", "x", "--json"])
            expectNoControlCharacters(json.stdout, "status --json")
            #expect(json.stdout.contains("\\u001b") && json.stdout.contains("\\u009b"), "\(json)")
            #expect(eventually { h.log("x").contains("csi") })
            let logs = try h.swiftd(["logs", "x"])
            expectNoControlCharacters(logs.stdout, "logs")
            #expect(logs.stdout.contains("\\x1b[2Jred"), "\(logs)")
            let list = try h.swiftd(["list"])
            expectNoControlCharacters(list.stdout, "list")
            // The last lines of a failed start's log, too.
            let failed = try h.startService("y", service: ["--print-escaped", Self.hostile, "--exit", "3", "--after", "20"])
            #expect(failed.code == 1, "\(failed)")
            expectNoControlCharacters(failed.stderr, "start failure")
            #expect(failed.stderr.contains("\\x1b[2Jred"), "\(failed)")
        }
    }

    @Test func aLineWithoutEndCountsTowardRotation() throws {
        try withHarness("bounds-endless") { h throws in
            // The line without end, then (on USR1, taken once it is all written) "got USR1": once that is in the log, all of it went through.
            #expect(try h.startService("x", ["--log-max-size", "64K", "--log-keep", "2"], service: ["--print-endless", "2000000", "--print-on-signal"]).code == 0)
            #expect(try h.swiftd(["signal", "x", "USR1"]).code == 0)
            #expect(eventually(timeout: 30) { h.log("x").contains("got USR1") }, "all 2 MB written")
            #expect([h.logFile("x") + ".1", h.logFile("x") + ".2"].allSatisfy { FileSystem.exists($0) }, "rotated")
            for file in ProcessTable.entries(of: h.logDirectory) {
                let size = try #require(try FileSystem.linkStatus(Path.join(h.logDirectory, file))).st_size
                #expect(size <= 64 * 1024, "\(file) is \(size) bytes")
            }
            #expect(ProcessTable.entries(of: h.logDirectory).count <= 3)
            #expect(try h.swiftd(["stop", "x"]).code == 0)
        }
    }

    @Test func aFloodOfNotificationsNeverKeepsTheSupervisorFromStopping() throws {
        try withHarness("bounds-flood") { h throws in
            #expect(try h.startService("x", ["--ready", "notify"], service: ["--notify-flood", "0", "--notify-ready-after", "20"]).code == 0)
            #expect(eventually { h.state("x")?.statusText != nil }, "the flood reaches the supervisor")
            let stop = try h.swiftd(["stop", "x", "--timeout", "2s"])
            #expect(stop.code == 0 && stop.stdout == "x stopped\n", "the supervisor did not answer: \(stop)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func swiftdsOwnLogInsideAWatchedTreeIsNoChange() throws {
        try withHarness("bounds-watch-log") { h throws in
            let tree = h.scratch.file("tree")
            mkdir(tree, 0o755)
            let conf = Path.join(tree, "app.conf"), signals = h.scratch.file("signals")
            try FileSystem.writeAtomically(conf, Array("one\n".utf8))
            #expect(try h.startService("x", ["--watch", tree, "--log", Path.join(tree, "x.log"), "--log-max-size", "8K", "--ready", "fd:9"],
                                       service: ["--print-numbered", "2000", "--every", "1", "--record-signals", signals, "--fd-ready", "9"]).code == 0)
            let pid = try #require(h.pid("x"))
            // Lines written and rotated inside the tree...
            #expect(eventually(timeout: 30) { FileSystem.exists(Path.join(tree, "x.log.1")) && h.text("tree/x.log").contains("seq 2000") })
            // ...then a look at the tree (a touch, read to compare) and one more after what it began.
            let reads = try FileReads(conf)
            for change in ["touch", "chmod"] {
                if change == "touch" { utimes(conf, nil) } else { chmod(conf, 0o600) }
                #expect(reads.wait(), "the supervisor looked at the \(change)")
            }
            #expect(h.recordedSignals(of: pid, in: signals) == [], "its own log restarted it")
            #expect(h.state("x")?.restarts == 0)
            try FileSystem.writeAtomically(Path.join(tree, "app.conf"), Array("two\n".utf8))
            #expect(eventually { h.state("x")?.restarts == 1 }, "a real change restarts it")
            #expect(try h.swiftd(["stop", "x"]).code == 0)
        }
    }

    @Test func symlinkLoopsInAWatchedTreeAreHarmless() throws {
        try withHarness("bounds-watch-loop") { h throws in
            let tree = h.scratch.file("tree")
            mkdir(tree, 0o755)
            mkdir(Path.join(tree, "sub"), 0o755)
            symlink(tree, Path.join(tree, "sub/up"))
            symlink(".", Path.join(tree, "self"))
            try FileSystem.writeAtomically(Path.join(tree, "sub/file"), Array("one\n".utf8))
            #expect(try h.startService("x", ["--watch", tree]).code == 0)
            let supervisor = try #require(h.lockHolder("x"))
            try FileSystem.writeAtomically(Path.join(tree, "sub/file"), Array("two\n".utf8))
            #expect(eventually { h.state("x")?.restarts == 1 })
            #expect(h.isAlive(supervisor))
            #expect(try h.swiftd(["stop", "x"]).code == 0)
        }
    }

    @Test func restartingOftenLeaksNoDescriptor() throws {
        try withHarness("bounds-restarts") { h throws in
            #expect(try h.startService("x", ["--restart", "always", "--restart-delay", "1ms", "--restart-max-delay", "1ms", "--start-limit", "none",
                                             "--min-uptime", "0", "--ready", "notify"],
                                       service: ["--notify-ready-after", "0", "--exit", "1", "--after", "3"]).code == 0)
            let supervisor = try #require(h.lockHolder("x"))
            #expect(eventually { (h.state("x")?.restarts ?? 0) >= 20 })
            let early = ProcessTable.openDescriptors(of: supervisor).count
            #expect(eventually(timeout: 60) { (h.state("x")?.restarts ?? 0) >= 400 })
            let late = ProcessTable.openDescriptors(of: supervisor).count
            #expect(late <= early + 2, "descriptors grew from \(early) to \(late) over 380 restarts")
            #expect(try h.swiftd(["stop", "x"]).code == 0)
        }
    }
}
