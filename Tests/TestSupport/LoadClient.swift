import Glibc
import Daemonize

/// What the load client (`Tests/fixtures/load-client.py`) saw: requests
/// answered whole, connections refused (nothing listened), requests that
/// failed otherwise (reset, cut short, timed out), the longest request, the
/// versions the answers named (`version=`, in the order first seen), and the
/// first errors.
package struct Load: CustomStringConvertible, Sendable {
    package var ok = 0, refused = 0, failed = 0, longestMilliseconds = 0
    package var versions: [String] = []
    package var errors: [String] = []

    package var description: String {
        "ok=\(ok) refused=\(refused) failed=\(failed) longest=\(longestMilliseconds)ms versions=\(versions.joined(separator: ","))"
            + (errors.isEmpty ? "" : " errors: \(errors)")
    }

    /// Runs the client against 127.0.0.1:`port` while `body` runs (once it
    /// was answered: it asks at a steady pace from then on) and returns what
    /// it saw. `label` names its files in `scratch` and its line in the
    /// test's output: the figures, for whoever reads the log, never a pass
    /// condition by themselves.
    package static func during(_ scratch: Scratch, port: UInt16, label: String = "load", _ body: () throws -> Void) throws -> Load {
        let stop = scratch.file("\(label).stop"), result = scratch.file("\(label).result")
        let client = try Spawned.start("/usr/bin/python3", [Path.join(RealServers.fixtures, "load-client.py"), "\(port)", stop, result],
                                       environment: scratch.environment)
        defer {
            try? FileSystem.writeAtomically(stop, [])
            _ = client.wait(timeout: 30)
        }
        guard eventually(timeout: 20, { answered(scratch, label: label) > 0 }) else { throw ClientFailed(result: client.wait(timeout: 1)) }
        try body()
        try FileSystem.writeAtomically(stop, [])
        let ended = client.wait(timeout: 30)
        guard ended.status == .exited(0) else { throw ClientFailed(result: ended) }
        var load = Load()
        let text = String(decoding: (try? FileSystem.read(result, limit: 1 << 20)) ?? [], as: UTF8.self)
        let lines = text.split(separator: "\n").map(String.init)
        for field in lines.first?.split(separator: " ") ?? [] {
            let parts = field.split(separator: "=")
            if parts.count == 2, parts[0] == "versions" { load.versions = parts[1].split(separator: ",").map(String.init) }
            guard parts.count == 2, let n = Int(parts[1]) else { continue }
            switch parts[0] {
            case "ok": load.ok = n
            case "refused": load.refused = n
            case "failed": load.failed = n
            case "max_ms": load.longestMilliseconds = n
            default: break
            }
        }
        load.errors = Array(lines.dropFirst())
        print("\(scratch.path) \(label): \(load)")
        return load
    }

    /// How many of the client's requests were answered so far (it says so
    /// every 50 ms): a test waits for more after each round, so the service
    /// is seen serving the client again, not only the test's own request.
    package static func answered(_ scratch: Scratch, label: String = "load") -> Int {
        let text = String(decoding: (try? FileSystem.read(scratch.file("\(label).result.ok"), limit: 64)) ?? [], as: UTF8.self)
        return Int(text.split(separator: "\n").first ?? "") ?? 0
    }

    /// The client itself did not end well.
    package struct ClientFailed: Error, CustomStringConvertible {
        package let result: RunResult
        package var description: String { "the load client: \(result)" }
    }
}
