import Glibc
import Daemonize
import TestSupport
import Testing

/// SIGKILL at each moment of the start sequence (issue 7, scenario 2): the
/// start command, the intermediate process, the daemon, the supervisor or the
/// service. Afterwards `status` tells the truth, the next `start` succeeds and
/// no process of the service is left. Moments inside swiftd are reached
/// through debug-build crash points (`SWIFTD_CRASH_POINT`), where the process
/// stops itself so the test can kill exactly then.
@Suite(.hangLimit) struct CrashTests {
    enum Victim: String { case stopped, cli, supervisor, service }

    /// label -> (crash point or "readiness", victim)
    static let cases: [String: (String, Victim)] = [
        "before the fork, the start command": ("before-fork", .stopped),
        "between the forks, the intermediate process": ("between-forks", .stopped),
        "between the forks, the start command": ("between-forks", .cli),
        "before the pidfile, the daemon": ("before-pidfile", .stopped),
        "before the pidfile, the start command": ("before-pidfile", .cli),
        "before the pid is written, the supervisor": ("before-spawn", .stopped),
        "before the pid is written, the start command": ("before-spawn", .cli),
        "during the readiness wait, the start command": ("readiness", .cli),
        "during the readiness wait, the supervisor": ("readiness", .supervisor),
        "during the readiness wait, the service": ("readiness", .service),
    ]

    @Test(arguments: cases.keys.sorted())
    func killAtEachMoment(_ label: String) throws {
        let (point, victim) = try #require(Self.cases[label])
        try withHarness("crash") { h throws in
            var cli: Spawned
            var victimPID: pid_t
            var stopped: pid_t?
            if point == "readiness" {
                // A service that never says it is ready: start waits for it.
                cli = try h.spawnSwiftd(["start", "x", "--ready", "notify", "--ready-timeout", "3s", "--", h.fixturePath, "service"])
                #expect(eventually { h.pid("x") != nil })
                switch victim {
                case .cli: victimPID = cli.pid
                case .supervisor: victimPID = try #require(h.lockHolder("x"))
                default: victimPID = try #require(h.pid("x"))
                }
            } else {
                let env = h.environment(pausingAt: point)
                cli = try h.spawnSwiftd(["start", "x", "--", h.fixturePath, "service"], environment: env)
                stopped = h.stoppedProcess()
                let pid = try #require(stopped, "the crash point \(point) was reached")
                victimPID = victim == .cli ? cli.pid : pid
            }
            kill(victimPID, SIGKILL)
            if let stopped, stopped != victimPID { kill(stopped, SIGCONT) }
            if victimPID != cli.pid {
                let result = cli.wait(timeout: 30)
                #expect(!result.timedOut, "start never hangs: \(result)")
                #expect(result.code == 0 || result.code == 1, "\(result)")
            }

            // status tells the truth once things settle: 0 exactly when the service runs.
            #expect(eventually(timeout: 15) {
                guard let status = try? h.swiftd(["status", "x"]) else { return false }
                let running = !h.processes(named: "fixture").isEmpty
                return (status.code == 0) == running && (running || h.processes(named: "swiftd: x").isEmpty)
            }, "\(label): \(String(describing: try? h.swiftd(["status", "x"])))")

            let again = try h.swiftd(["start", "x", "--", h.fixturePath, "service"])
            #expect(again.code == 0, "\(label): the next start succeeds: \(again)")
            #expect(try h.swiftd(["status", "x"]).code == 0)
            #expect(h.processes(named: "fixture").count == 1, "one instance")
            #expect(try h.swiftd(["stop", "x"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty, "nothing of the service is left")
        }
    }
}

/// A start that probed "not running" and was overtaken by another start
/// before it cleaned up after a dead supervisor: its cleanup must not take
/// the newcomer's service for leftovers. (Found by the 50-start race under
/// load: one started service was stopped by another start's cleanup.)
@Suite(.hangLimit) struct OvertakenStartTests {
    @Test func anOvertakenStartLeavesTheNewServiceAlone() throws {
        try withHarness("overtaken") { h throws in
            let env = h.environment(pausingAt: "after-probe")
            let slow = try h.spawnSwiftd(["start", "x", "--", h.fixturePath, "service"], environment: env)
            let paused = try #require(h.stoppedProcess(), "the first start paused after its probe")
            let fast = try h.swiftd(["start", "x", "--", h.fixturePath, "service"])
            #expect(fast.code == 0, "\(fast)")
            let pid = try #require(h.pid("x"))
            kill(paused, SIGCONT)
            let result = slow.wait(timeout: 30)
            #expect(result.code == 0, "\(result)")
            #expect(result.stdout == "x is already running (pid \(pid))\n", "\(result)")
            #expect(h.isAlive(pid), "the newcomer's service was taken for leftovers")
            #expect(h.pid("x") == pid)
            #expect(h.processes(named: "fixture") == [pid])
        }
    }
}
