import Glibc
import Daemonize
import TestSupport
import Testing

/// --watch: restart (or reload) when watched content really changes.
@Suite(.timeLimit(.minutes(5))) struct WatchTests {
    func write(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        close(fd)
    }

    @Test func editRestartsTouchAndSameBytesDoNot() throws {
        try withHarness("watch") { h throws in
            let file = h.scratch.file("app.conf")
            write(file, "v1\n")
            #expect(try h.startService("w", ["--watch", file]).code == 0)
            let first = try #require(h.pid("w"))
            // A touch and a save of the same bytes, each past the debounce...
            utimes(file, nil)
            Monotonic.sleep(nanoseconds: 600_000_000)
            write(file, "v1\n")
            Monotonic.sleep(nanoseconds: 600_000_000)
            #expect(h.pid("w") == first)
            // ...then a real edit: exactly one restart in all.
            write(file, "v2\n")
            #expect(eventually { h.pid("w").map { $0 != first } ?? false })
            // The record follows the new pid within microseconds.
            #expect(eventually { h.state("w")?.restarts == 1 })
            Monotonic.sleep(nanoseconds: 300_000_000)
            #expect(h.state("w")?.restarts == 1, "exactly one restart")
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
            mkdir(Path.join(dir, "deep"), 0o755)
            Monotonic.sleep(nanoseconds: 500_000_000)
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
