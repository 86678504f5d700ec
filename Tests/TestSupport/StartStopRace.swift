import Glibc
import Daemonize

/// `start` racing `stop` for `rounds` rounds, `starters` starts against one
/// stop each round. Returns one message per broken promise: two instances,
/// a lock without a service (or the reverse), a hung or failed command.
package func raceStartAgainstStop(_ h: Harness, name: String, rounds: Int, starters: Int = 1) throws -> [String] {
    var problems: [String] = []
    for round in 0..<rounds {
        let starts = try (0..<starters).map { _ in try h.spawnSwiftd(["start", name, "--min-uptime", "0", "--", h.fixturePath, "service"]) }
        let stop = try h.spawnSwiftd(["stop", name])
        let started = starts.map { $0.wait(timeout: 60) }
        let stopped = stop.wait(timeout: 60)
        for result in started + [stopped] where result.timedOut { problems.append("round \(round): a command hung: \(result)") }
        for result in started where result.code != 0 && result.code != 1 { problems.append("round \(round): start \(result)") }
        if stopped.code != 0 { problems.append("round \(round): stop \(stopped)") }
        let instances = h.processes(named: "fixture")
        if instances.count > 1 { problems.append("round \(round): \(instances.count) instances \(instances)") }
        // Once every command has returned, the lock and the processes agree.
        let status = try h.swiftd(["status", name])
        var locked = false
        if case .running = PIDFile.status(at: h.pidFile(name)) { locked = true }
        if (status.code == 0) != !instances.isEmpty || locked != !instances.isEmpty {
            // Everything that tells what happened, once the counts disagree.
            let marked = h.scratch.markedProcesses().map { "\($0) \(ProcessTable.stat(of: $0)?.name ?? "?")" }
            let record = (try? FileSystem.read(Path.join(h.runDirectory, "\(name).state"), limit: 1 << 16)).map { String(decoding: $0, as: UTF8.self) } ?? "none"
            problems.append("round \(round): status \(status.code) (\(status)), locked \(locked), instances \(instances), "
                + "starts \(started), stop \(stopped), marked \(marked), record \(record)")
        }
        if round % 2 == 1 { _ = try h.swiftd(["stop", name]) }
    }
    return problems
}
