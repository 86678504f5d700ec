import Glibc
import Daemonize
import TestSupport
import Testing

/// A watched change after a failure tries again, as nodemon does ("app
/// crashed - waiting for file changes before starting"): after a failed
/// start, the start limit, or a failed restart, the supervisor of a service
/// with `--watch` stays, `status` says it waits for a change, and the next
/// change of a watched file starts the service again. Until the code is
/// fixed, the development loop never needs a `start` typed.
@Suite(.hangLimit) struct WaitForChangeTests {
    /// The options of a service that fails while the file `code` says
    /// "broken": exits 3 at once, or (`late`) after 300 ms, past its start
    /// window. It watches another file, `edit`: the test changes `code`
    /// without a word, then says when with `edit`.
    func options(_ h: Harness, late: Bool = false) -> [String] {
        let check = "if grep -q broken code; then " + (late ? "sleep 0.3; " : "") + "exit 3; fi; "
        return ["--chdir", h.scratch.path, "--watch", h.scratch.file("edit"), "--", "/bin/sh", "-c", check + "exec \(h.fixturePath) service"]
    }

    func write(_ h: Harness, _ text: String) throws {
        try FileSystem.writeAtomically(h.scratch.file("code"), Array((text + "\n").utf8))
    }

    /// A change of the watched file.
    func edit(_ h: Harness) throws {
        let count = (try? FileSystem.read(h.scratch.file("edit"))).map { $0.count } ?? 0
        try FileSystem.writeAtomically(h.scratch.file("edit"), [UInt8](repeating: UInt8(ascii: "x"), count: count + 1))
    }

    /// `status` says it waits, exits 1, and names the failure; nothing of the service runs.
    func expectWaiting(_ h: Harness, _ name: String, failure: String) throws {
        #expect(eventually { h.state(name)?.phase == .waiting }, "\(String(describing: h.state(name)))")
        let status = try h.swiftd(["status", name])
        #expect(status.code == 1, "\(status)")
        #expect(status.stdout.contains("\(name): waiting for a change of a watched file (supervisor pid ") && status.stdout.contains(failure), "\(status)")
        #expect(try h.swiftd(["status", name, "--json"]).stdout.contains("\"state\":\"waiting\""))
        #expect(h.pid(name) == nil)
        #expect(h.lockHolder(name) == h.state(name)?.supervisorPID, "the supervisor stays, holding the lock")
    }

    @Test func aFailedStartWaitsAndAChangeStartsItAgain() throws {
        try withHarness("wait-start") { h throws in
            try write(h, "broken")
            let start = try h.swiftd(["start", "w"] + options(h))
            #expect(start.code == 1, "\(start)")
            #expect(start.stderr.contains("w failed to start: exited with status 3"), "\(start)")
            #expect(start.stderr.contains("w is waiting for a change of a watched file to start again"), "\(start)")
            try expectWaiting(h, "w", failure: "failed to start: exited with status 3")
            #expect(try h.swiftd(["list"]).stdout.contains("waiting"))
            try write(h, "fixed")
            try edit(h)
            #expect(eventually { h.state("w")?.phase == .running && h.pid("w") != nil }, "\(h.log("w"))")
            #expect(h.log("w").contains("watched files changed: starting w again"))
            #expect(try h.swiftd(["status", "w"]).code == 0)
            #expect(try h.swiftd(["stop", "w"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func theStartLimitWaitsAndAChangeStartsItAgain() throws {
        try withHarness("wait-limit") { h throws in
            try write(h, "fixed")
            #expect(try h.swiftd(["start", "w", "--restart-delay", "10ms", "--start-limit", "3/60s"] + options(h, late: true)).code == 0)
            try write(h, "broken")
            try edit(h)
            try expectWaiting(h, "w", failure: "failed: 3 starts in 1m, last exit status 3")
            // Still broken: one try, and waiting again.
            let restarts = h.state("w")?.restarts ?? 0
            try edit(h)
            #expect(eventually { (h.state("w")?.restarts ?? 0) > restarts && h.state("w")?.phase == .waiting }, "\(h.log("w"))")
            try write(h, "fixed")
            try edit(h)
            #expect(eventually { h.state("w")?.phase == .running && h.pid("w") != nil }, "\(h.log("w"))")
            #expect(try h.swiftd(["stop", "w"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// A restart in place, stop-first: the old instance is gone, the new one
    /// fails, and the supervisor waits with the socket held.
    @Test func aFailedRestartWaitsAndAChangeStartsItAgain() throws {
        try withHarness("wait-restart") { h throws in
            let port = try Loopback.freePort()
            try write(h, "fixed")
            #expect(try h.swiftd(["start", "w", "--listen", "tcp:127.0.0.1:\(port)"] + options(h)).code == 0)
            try write(h, "broken")
            let restart = try h.swiftd(["restart", "w"])
            #expect(restart.code == 1, "\(restart)")
            #expect(restart.stderr.contains("w: restart failed: the new instance exited with status 3"), "\(restart)")
            // It exited: respawned by policy, up to the start limit.
            try expectWaiting(h, "w", failure: "last exit status 3")
            #expect(Loopback.connects(port), "the socket is held while it waits")
            try write(h, "fixed")
            try edit(h)
            #expect(eventually { h.state("w")?.phase == .running && h.pid("w") != nil }, "\(h.log("w"))")
            #expect(try h.swiftd(["stop", "w"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// `start` of a service that waits tries now, as a change would; `stop` gives up.
    @Test func startTriesNowAndStopGivesUp() throws {
        try withHarness("wait-commands") { h throws in
            try write(h, "broken")
            let options = options(h)
            #expect(try h.swiftd(["start", "w"] + options).code == 1)
            try expectWaiting(h, "w", failure: "failed to start")
            let again = try h.swiftd(["start", "w"])
            #expect(again.code == 1 && again.stderr.contains("w failed to start: exited with status 3"), "\(again)")
            try expectWaiting(h, "w", failure: "failed to start")
            #expect(try h.swiftd(["stop", "w"]).code == 0)
            #expect(h.state("w")?.phase == .stopped)
            #expect(h.lockHolder("w") == nil)
            try write(h, "broken")
            #expect(try h.swiftd(["start", "w"] + options).code == 1)
            try expectWaiting(h, "w", failure: "failed to start")
            try write(h, "fixed")
            let started = try h.swiftd(["start", "w"])
            #expect(started.code == 0 && started.stdout.contains("w started (pid "), "\(started)")
            #expect(try h.swiftd(["stop", "w"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }
}
