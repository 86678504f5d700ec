import Glibc
import TestSupport
import Testing
import Daemonize

/// `--watchdog`: a notify service that stops sending WATCHDOG=1 is killed
/// and restarted by policy; one that keeps sending is left alone. The
/// sender is the library's own `Notify.watchdog()` (in the fixture).
@Suite(.hangLimit)
struct WatchdogTests {
    @Test func aServiceThatFallsSilentIsKilledAndRespawned() throws {
        try withHarness("watchdog-silent") { h throws in
            let once = h.scratch.file("once")
            let start = try h.startService("hung", ["--ready", "notify", "--watchdog", "300ms"],
                                           service: ["--notify-ready-after", "0", "--watchdog-pace", "100", "--watchdog-silent-after", "500",
                                                     "--once", once, "--watchdog-file", h.scratch.file("interval")])
            #expect(start.code == 0, "\(start)")
            let first = try #require(h.pid("hung"))
            // Silent after 500 ms, killed 300 ms later, respawned (on-failure).
            #expect(eventually(timeout: 10) { h.pid("hung").map { $0 != first } ?? false })
            #expect(eventually { h.log("hung").contains("hung sent no WATCHDOG=1 within 300ms: killing it (ABRT)") })
            #expect(h.log("hung").contains("hung killed by signal ABRT"))
            #expect(eventually { h.state("hung")?.restarts == 1 })
            // The service was told the interval through WATCHDOG_USEC.
            #expect(String(decoding: (try? FileSystem.read(h.scratch.file("interval"))) ?? [], as: UTF8.self).hasPrefix("0.3 seconds"))
        }
    }

    /// It sends for five intervals, then falls silent, and writes so before
    /// its supervisor could notice: a kill while it was still sending would
    /// find the file missing. The kill itself is the marker that the
    /// supervisor watched all along.
    @Test func aServiceThatKeepsSendingIsLeftAlone() throws {
        try withHarness("watchdog-alive") { h throws in
            let silent = h.scratch.file("silent")
            #expect(try h.startService("alive", ["--ready", "notify", "--watchdog", "300ms", "--restart", "no"],
                                       service: ["--notify-ready-after", "0", "--watchdog-pace", "100", "--watchdog-silent-after", "1500",
                                                 "--watchdog-silent-file", silent]).code == 0)
            #expect(eventually(timeout: 20) { h.state("alive")?.phase == .failed || h.state("alive")?.phase == .exited }, "killed once silent")
            #expect(h.text("silent") == "silent\n", "killed while it was still sending: \(h.log("alive"))")
            #expect(h.log("alive").contains("alive sent no WATCHDOG=1 within 300ms: killing it (ABRT)"), "\(h.log("alive"))")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func aServiceThatOutlivesSIGABRTIsKilled() throws {
        try withHarness("watchdog-abort") { h throws in
            #expect(try h.startService("stubborn", ["--ready", "notify", "--watchdog", "200ms", "--stop-timeout", "300ms"],
                                       service: ["--notify-ready-after", "0", "--ignore-abort"]).code == 0)
            let first = try #require(h.pid("stubborn"))
            #expect(eventually(timeout: 10) { h.pid("stubborn").map { $0 != first } ?? false })
            #expect(h.log("stubborn").contains("stubborn did not end after SIGABRT: sending KILL"))
            #expect(h.log("stubborn").contains("stubborn killed by signal KILL"))
        }
    }

    @Test func withRestartNoASilentServiceEndsAsFailed() throws {
        try withHarness("watchdog-no") { h throws in
            #expect(try h.startService("quiet", ["--ready", "notify", "--watchdog", "200ms", "--restart", "no"],
                                       service: ["--notify-ready-after", "0"]).code == 0)
            #expect(eventually(timeout: 10) { h.state("quiet")?.phase == .failed || h.state("quiet")?.phase == .exited })
            let status = try h.swiftd(["status", "quiet"])
            #expect(status.code == 1, "\(status)")
            #expect(status.stdout.contains("killed by signal ABRT"), "\(status)")
        }
    }

    @Test func watchdogNeedsNotifyReadinessAndTheSupervisor() throws {
        try withHarness("watchdog-usage") { h throws in
            let exec = try h.startService("a", ["--watchdog", "1s"])
            #expect(exec.code == 2 && exec.stderr.contains("watchdog needs ready = notify"), "\(exec)")
            let noSupervise = try h.startService("b", ["--ready", "notify", "--watchdog", "1s", "--no-supervise"])
            #expect(noSupervise.code == 2 && noSupervise.stderr.contains("watchdog needs the supervisor"), "\(noSupervise)")
            let bad = try h.startService("c", ["--ready", "notify", "--watchdog", "soon"])
            #expect(bad.code == 2 && bad.stderr.contains("soon"), "\(bad)")
            #expect(h.pid("a") == nil && h.pid("b") == nil && h.pid("c") == nil)
        }
    }
}
