import Glibc
import Daemonize
import TestSupport
import Testing

/// --watch: restart (or reload) when watched content really changes.
@Suite(.hangLimit) struct WatchTests {
    func write(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        close(fd)
    }

    /// Each look of the supervisor at a watched file reads it (to compare
    /// its content): the test waits for that read after each change, and
    /// asks the service what signals it got (a restart begins with its stop
    /// signal) once the supervisor has looked again, never after a sleep.
    @Test func editRestartsTouchAndSameBytesDoNot() throws {
        try withHarness("watch") { h throws in
            let file = h.scratch.file("app.conf")
            let signals = h.scratch.file("signals")
            write(file, "v1\n")
            let stamps = h.scratch.file("stamps")
            #expect(try h.startService("w", ["--watch", file, "--ready", "fd:9"], service: ["--record-signals", signals, "--stamp", stamps, "--fd-ready", "9"]).code == 0)
            let first = try #require(h.pid("w"))
            let reads = try FileReads(file)
            // A touch and a save of the same bytes, each looked at...
            utimes(file, nil)
            #expect(reads.wait(), "the supervisor looked at the touch")
            write(file, "v1\n")
            #expect(reads.wait(), "the supervisor looked at the same bytes")
            // ...and a chmod (no change either), looked at after what they began.
            chmod(file, 0o600)
            #expect(reads.wait(), "the supervisor looked at the chmod")
            #expect(h.recordedSignals(of: first, in: signals) == [], "no restart began")
            #expect(h.pid("w") == first && h.state("w")?.restarts == 0)
            // Then a real edit: exactly one restart in all.
            write(file, "v2\n")
            #expect(eventually { h.pid("w").map { $0 != first } ?? false })
            let second = try #require(h.pid("w"))
            #expect(eventually { h.text("stamps").contains("start \(second) ") }, "it records signals from now on")
            chmod(file, 0o644)
            #expect(reads.wait(), "the supervisor looked at the chmod after the edit")
            #expect(h.recordedSignals(of: second, in: signals) == ["CONT", "TERM"], "the first marker, the first instance's stop signal, none for the second")
            #expect(h.pid("w") == second && h.state("w")?.restarts == 1, "exactly one restart")
        }
    }

    @Test func renameOverAndLateCreationAreSeen() throws {
        try withHarness("watch-rename") { h throws in
            let dir = h.scratch.file("site")
            let file = Path.join(dir, "index.html")
            #expect(try h.startService("w", ["--watch", file]).code == 0)
            let first = try #require(h.pid("w"))
            mkdir(dir, 0o755)
            write(file, "hello\n")
            #expect(eventually { h.pid("w").map { $0 != first } ?? false }, "a watched path that appears later")
            let second = try #require(h.pid("w"))
            write(Path.join(dir, ".index.html.swp"), "hello again\n")
            #expect(Glibc.rename(Path.join(dir, ".index.html.swp"), file) == 0)
            #expect(eventually { h.pid("w").map { $0 != second } ?? false }, "an editor's save by rename")
        }
    }

    @Test func directoriesAreWatchedRecursively() throws {
        try withHarness("watch-dir") { h throws in
            let dir = h.scratch.file("src")
            mkdir(dir, 0o755)
            #expect(try h.startService("w", ["--watch", dir]).code == 0)
            let first = try #require(h.pid("w"))
            // The supervisor reads a new directory (to compare it) and watches it from then on.
            let reads = try FileReads(Path.join(dir, "deep"))
            mkdir(Path.join(dir, "deep"), 0o755)
            #expect(reads.wait(), "the supervisor looked at the new directory")
            write(Path.join(dir, "deep/code.swift"), "print(1)\n")
            #expect(eventually { h.pid("w").map { $0 != first } ?? false })
        }
    }

    @Test func reloadActionSendsTheReloadSignal() throws {
        try withHarness("watch-reload") { h throws in
            let file = h.scratch.file("conf")
            let signals = h.scratch.file("signals")
            write(file, "a\n")
            #expect(try h.startService("w", ["--watch", file, "--watch-action", "reload", "--ready", "fd:9"], service: ["--record-signals", signals, "--fd-ready", "9"]).code == 0)
            let pid = try #require(h.pid("w"))
            write(file, "b\n")
            #expect(eventually { h.text("signals").contains("HUP") })
            #expect(h.pid("w") == pid)
        }
    }
}
