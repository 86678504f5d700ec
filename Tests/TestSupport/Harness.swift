import Glibc
import Daemonize

/// One end-to-end test's world: a scratch directory with its own run and log
/// dirs, the built `swiftd` and fixture, and cleanup of every process started.
package final class Harness: @unchecked Sendable {
    package let scratch: Scratch
    package let swiftdPath = product("swiftd")
    package let fixturePath = product("fixture")
    package var runDirectory: String { scratch.file("run") }
    package var logDirectory: String { scratch.file("log") }
    package var configDirectory: String { scratch.file("conf") }
    package var paths: ServicePaths { ServicePaths(runDirectory: runDirectory, logDirectory: logDirectory, configDirectory: configDirectory) }

    package init(_ label: String) throws {
        scratch = try Scratch(label)
    }

    /// Kills every process the test started, then removes its files.
    package func cleanup() { scratch.cleanup() }

    /// The directory options every swiftd call gets.
    package var directoryOptions: [String] {
        ["--run-dir", runDirectory, "--log-dir", logDirectory, "--config-dir", configDirectory]
    }

    /// Runs `swiftd ARGS --run-dir ... --log-dir ...` (the directory options
    /// go before any `--`).
    package func swiftd(_ arguments: [String], environment: [String]? = nil, timeout: Double = 60) throws -> RunResult {
        try run(swiftdPath, withDirectories(arguments), environment: environment ?? scratch.environment, timeout: timeout)
    }

    /// Starts `swiftd ARGS` without waiting (for `logs -f`, `run`).
    package func spawnSwiftd(_ arguments: [String], environment: [String]? = nil) throws -> Spawned {
        try Spawned.start(swiftdPath, withDirectories(arguments), environment: environment ?? scratch.environment)
    }

    package func withDirectories(_ arguments: [String]) -> [String] {
        if let dash = arguments.firstIndex(of: "--") {
            return Array(arguments[..<dash]) + directoryOptions + Array(arguments[dash...])
        }
        return arguments + directoryOptions
    }

    /// `swiftd start NAME OPTIONS -- fixture service SERVICE-ARGS`.
    package func startService(_ name: String, _ options: [String] = [], service: [String] = []) throws -> RunResult {
        try swiftd(["start", name] + options + ["--", fixturePath, "service"] + service)
    }

    /// Writes `NAME.conf` in the config dir.
    package func writeConfig(_ name: String, _ text: String) throws {
        try FileSystem.makeDirectories(configDirectory, mode: 0o755)
        try FileSystem.writeAtomically(Path.join(configDirectory, "\(name).conf"), Array(text.utf8))
    }

    package func pidFile(_ name: String) -> String { Path.join(runDirectory, "\(name).pid") }
    package func logFile(_ name: String) -> String { Path.join(logDirectory, "\(name).log") }

    /// The pid the pidfile holds.
    package func pid(_ name: String) -> pid_t? {
        (try? FileSystem.read(pidFile(name))).flatMap { PIDFile.parsePID($0) }
    }

    /// The recorded state.
    package func state(_ name: String) -> ServiceState? {
        try? ServiceState.read(Path.join(runDirectory, "\(name).state"), name: ServiceName(name)!)
    }

    /// The process holding the pidfile's lock (from the kernel's lock table).
    package func lockHolder(_ name: String) -> pid_t? {
        PIDFile.lockHolder(at: pidFile(name))
    }

    /// The log's text ("" when there is none).
    package func log(_ name: String) -> String {
        (try? FileSystem.read(logFile(name), limit: 1 << 26)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// The text of a file in the scratch directory ("" when missing).
    package func text(_ file: String) -> String {
        (try? FileSystem.read(scratch.file(file), limit: 1 << 26)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// True while `pid` exists and is not a zombie.
    package func isAlive(_ pid: pid_t) -> Bool {
        guard let st = ProcessTable.stat(of: pid) else { return false }
        return !st.isZombie
    }

    /// The test's environment with the debug-build crash point `point` set:
    /// a swiftd run with it stops itself (SIGSTOP) on reaching that point,
    /// and so do the processes it starts.
    package func environment(pausingAt point: String) -> [String] {
        Environment.setting("SWIFTD_CRASH_POINT", to: point, in: scratch.environment)
    }

    /// Waits for a process of this test to stop itself at a crash point
    /// (state "T") and returns it.
    package func stoppedProcess(timeout: Double = 20) -> pid_t? {
        var found: pid_t?
        eventually(timeout: timeout) {
            found = scratch.markedProcesses().first { ProcessTable.stat(of: $0)?.state == UInt8(ascii: "T") }
            return found != nil
        }
        return found
    }

    /// What a fixture run with `--record-signals FILE` has recorded, once
    /// every signal sent to it before this call has been: a CONT sent now,
    /// the highest signal it records, is recorded after them (pending
    /// signals are taken lowest number first). Without that CONT; nil when
    /// it never arrives (the process is gone, or did not record signals yet:
    /// wait for its `--stamp` line first). The positive marker for "no
    /// signal reached it", instead of a look after a fixed sleep.
    package func recordedSignals(of pid: pid_t, in file: String) -> [String]? {
        func lines() -> [String] {
            ((try? FileSystem.read(file, limit: 1 << 20)) ?? []).split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
        }
        let before = lines().filter { $0 == "CONT" }.count
        guard kill(pid, SIGCONT) == 0, eventually(timeout: 20, { lines().filter { $0 == "CONT" }.count > before }) else { return nil }
        var recorded = lines()
        if let marker = recorded.lastIndex(of: "CONT") { recorded.remove(at: marker) }
        return recorded
    }

    /// Live processes of this test whose command name is `name`.
    package func processes(named name: String) -> [pid_t] {
        scratch.markedProcesses().filter { ProcessTable.stat(of: $0)?.name == name }
    }
}

/// Runs `body` with a fresh harness, and cleans up after it (every process
/// it started killed, its directory removed), whatever `body` did.
package func withHarness<T>(_ label: String, _ body: (Harness) throws -> T) throws -> T {
    let h = try Harness(label)
    defer { h.cleanup() }
    return try body(h)
}

/// Runs `body` with a fresh scratch directory, cleaned up after it.
package func withScratch<T>(_ label: String = "test", _ body: (Scratch) throws -> T) throws -> T {
    let scratch = try Scratch(label)
    defer { scratch.cleanup() }
    return try body(scratch)
}

/// Runs `body` with a harness whose directories the hostile user can reach
/// (but not write), and that user.
package func withUserHarness<T>(_ label: String, _ body: (Harness, HostileUser) throws -> T) throws -> T {
    let user = try HostileUser.require()
    return try withHarness(label) { h throws in
        chmod(h.scratch.path, 0o711)
        return try body(h, user)
    }
}
