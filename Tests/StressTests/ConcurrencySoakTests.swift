import Glibc
import Daemonize
import TestSupport
import Testing

/// A minute (SWIFTD_SOAK_SECONDS) of mixed concurrent start, stop, restart,
/// status, signal and reload against a few names, eight commands in flight,
/// both modes. No command may hang or answer outside its exit codes, no name
/// may ever run twice; afterwards every name either runs once or is cleanly
/// stopped, `status` agrees with /proc, no lock is left without its service
/// and, after a final stop, no process at all. Runs in `make stress`.
@Suite(.enabled(if: Environment.value("SWIFTD_STRESS") == "1", "set SWIFTD_STRESS=1 (make stress)"), .hangLimit)
struct ConcurrencySoakTests {
    static let names = ["a", "b", "c"]

    /// The exit codes each command may answer with while others run.
    static let allowed: [String: Set<Int32>] = [
        "start": [0], "stop": [0], "restart": [0], "status": [0, 3], "signal": [0, 3], "reload": [0, 3],
    ]

    /// The live service processes of `name` (each is started with its name as a marker argument).
    static func instances(_ h: Harness, _ name: String) -> [pid_t] {
        h.processes(named: "fixture").filter { pid in
            let words = ((try? FileSystem.read("/proc/\(pid)/cmdline")) ?? []).split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return words.contains("soak-\(name)")
        }
    }

    func command(_ h: Harness, _ verb: String, _ name: String) -> [String] {
        // Names a and b run supervised, c in exec mode.
        let mode = name == "c" ? ["--no-supervise"] : []
        switch verb {
        // WINCH: a signal that does not kill a service that has not set up its handlers yet.
        case "start": return ["start", name, "--min-uptime", "0", "--stop-timeout", "2s", "--reload-signal", "WINCH"] + mode
            + ["--", h.fixturePath, "service", "--name-marker", "soak-\(name)"]
        case "signal": return ["signal", name, "WINCH"]
        default: return [verb, name]
        }
    }

    @Test func mixedConcurrentCommandsLeaveEveryNameRunningOnceOrStopped() throws {
        try withHarness("soak") { h throws in
            let seconds = Double(Environment.value("SWIFTD_SOAK_SECONDS") ?? "") ?? 60
            let verbs = ["start", "start", "stop", "restart", "status", "status", "signal", "reload"]
            var generator = SystemRandomNumberGenerator()
            var inFlight: [(verb: String, name: String, process: Spawned, started: Int64)] = []
            var problems: [String] = []
            var counts: [String: Int] = [:]
            let deadline = Monotonic.now() + Int64(seconds * 1e9)
            var lastSample = Monotonic.now()
            for name in Self.names { #expect(try h.swiftd(command(h, "start", name)).code == 0) }
            while Monotonic.now() < deadline || !inFlight.isEmpty {
                while Monotonic.now() < deadline && inFlight.count < 8 {
                    let verb = verbs.randomElement(using: &generator)!
                    let name = Self.names.randomElement(using: &generator)!
                    inFlight.append((verb, name, try h.spawnSwiftd(command(h, verb, name)), Monotonic.now()))
                }
                var still: [(verb: String, name: String, process: Spawned, started: Int64)] = []
                for entry in inFlight {
                    if entry.process.isRunning {
                        if Monotonic.now() - entry.started > 60_000_000_000 {
                            problems.append("\(entry.verb) \(entry.name) hung: \(entry.process.wait(timeout: 1))")
                        } else {
                            still.append(entry)
                        }
                        continue
                    }
                    let result = entry.process.wait(timeout: 5)
                    counts[entry.verb, default: 0] += 1
                    var allowed = Self.allowed[entry.verb] ?? []
                    // Exec mode has no supervisor to record its end: between the
                    // service's death and the stop that clears up, status says
                    // "dead (pidfile left)", which is then true.
                    if entry.verb == "status" && entry.name == "c" && result.stdout.contains("dead (pidfile left") { allowed.insert(1) }
                    // A start that a concurrent stop ended during its start window says so.
                    let endedByAStop = ["failed to start: exited with status 0\n", "failed to start: killed by signal TERM\n", "was stopped before it was ready"]
                    if (entry.verb == "start" || entry.verb == "restart") && endedByAStop.contains(where: result.stderr.contains) { allowed.insert(1) }
                    if !allowed.contains(result.code) { problems.append("\(entry.verb) \(entry.name): \(result)") }
                }
                inFlight = still
                if Monotonic.now() - lastSample > 50_000_000 {
                    lastSample = Monotonic.now()
                    for name in Self.names where Self.instances(h, name).count > 1 {
                        problems.append("\(name) runs twice: \(Self.instances(h, name))")
                    }
                }
                Monotonic.sleep(nanoseconds: 2_000_000)
            }
            // Settled: every name runs once or is stopped, and status and the lock agree with /proc.
            for name in Self.names {
                let instances = Self.instances(h, name)
                let status = try h.swiftd(["status", name])
                var locked = false
                if case .running = PIDFile.status(at: h.pidFile(name)) { locked = true }
                if instances.count > 1 { problems.append("\(name): \(instances.count) instances at the end") }
                if (status.code == 0) != (instances.count == 1) { problems.append("\(name): status \(status) with \(instances)") }
                if status.code != 0 && status.code != 3 { problems.append("\(name): status \(status) at the end") }
                if locked != (instances.count == 1) { problems.append("\(name): locked \(locked) with \(instances)") }
                let stop = try h.swiftd(["stop", name])
                if stop.code != 0 { problems.append("\(name): final stop \(stop)") }
            }
            #expect(h.scratch.markedProcesses().isEmpty, "left after the final stops: \(h.scratch.markedProcesses())")
            for name in Self.names { #expect(!FileSystem.exists(h.pidFile(name)), "\(name): a pidfile is left") }
            let total = counts.values.reduce(0, +)
            print("soak: \(total) commands in \(Int(seconds)) s (\(counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))), \(problems.count) problems")
            #expect(problems.isEmpty, "\(problems.count) problems: \(problems.prefix(10))")
        }
    }
}
