// Fuzzes `NAME.state`: the input is the file's bytes, for the service named
// on its "name=" line (so that seeds of several services apply). Whatever
// reads must write back to a file that reads to the same state, and must
// print as `status`, `status --json` and `list` print it. The input's bytes,
// cut at NUL, also become a command's arguments, a path, an environment value
// and a STATUS= text, which must read back byte for byte.
import Glibc
@testable import Daemonize

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStateFile(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = inputBytes(start, count)
    requireBytesRoundTrip(bytes)
    let name = recordedName(bytes) ?? ServiceName("x")!
    let state: ServiceState
    do {
        state = try ServiceState.decode(bytes, name: name)
    } catch is ConfigurationError {
        return 0
    } catch {
        require(false, "decode threw \(error), not a ConfigurationError")
        return 0
    }
    let encoded = state.encoded()
    let again: ServiceState
    do {
        again = try ServiceState.decode(encoded, name: name)
    } catch {
        require(false, "written state does not read back: \(error)\n\(String(decoding: encoded, as: UTF8.self))")
        return 0
    }
    require(again.encoded() == encoded, "state changes when written again:\n\(String(decoding: encoded, as: UTF8.self))\n---\n\(String(decoding: again.encoded(), as: UTF8.self))")

    // What ServiceStatus.probe takes from the record, in every state it can report.
    for phase in [ServiceStatus.State.running, .restarting, .exited, .failed, .dead, .stopped, .waiting] {
        var status = ServiceStatus(name: name, state: phase)
        status.recorded = state
        status.mode = state.mode
        status.pid = state.pid
        status.restarts = state.restarts
        status.lastExit = state.lastExit
        status.statusText = state.statusText
        status.detail = state.failure
        _ = status.line
        _ = status.json.description
        _ = status.exitCode
    }
    _ = CommandWords.quote(state.configuration.argv)
    return 0
}

/// Every byte string (but NUL) that a command's arguments, a path, an
/// environment value and a status text hold reads back from a state file exactly.
private func requireBytesRoundTrip(_ bytes: [UInt8]) {
    let words = bytes.split(separator: 0, omittingEmptySubsequences: false).map { Array($0) }
    var configuration = ServiceConfiguration(name: ServiceName("x")!)
    configuration.command = words.map { String(platformBytes: $0) }
    let path = String(platformBytes: [UInt8(ascii: "/")] + (words.first ?? []))
    configuration.chdir = path
    configuration.log = .file(path)
    configuration.watch = [path]
    configuration.environment = words.map { String(platformBytes: Array("A=".utf8) + $0) }
    var state = ServiceState(configuration: configuration)
    state.statusText = String(platformBytes: words.last ?? [])
    let encoded = state.encoded()
    require(String(validating: encoded, as: UTF8.self) != nil, "a state file that is not UTF-8:\n\(String(decoding: encoded, as: UTF8.self))")
    let decoded: ServiceState
    do {
        decoded = try ServiceState.decode(encoded, name: configuration.name)
    } catch {
        require(false, "bytes \(words) do not read back: \(error)\n\(String(decoding: encoded, as: UTF8.self))")
        return
    }
    let c = decoded.configuration
    // An empty command is not recorded; a lone empty word reads back as none.
    if !(words.count == 1 && words[0].isEmpty) {
        require(c.command.map(\.platformBytes) == words, "argv \(words) reads back as \(c.command.map(\.platformBytes))")
    }
    require(c.chdir.platformBytes == path.platformBytes && c.watch.map(\.platformBytes) == [path.platformBytes],
            "path \(path.platformBytes) reads back as \(c.chdir.platformBytes)")
    require(c.logFile(in: ServicePaths(runDirectory: "/r", logDirectory: "/l", configDirectory: "/c"))?.platformBytes == path.platformBytes,
            "log \(path.platformBytes) reads back as \(String(describing: c.log))")
    require(c.environment.map(\.platformBytes) == words.map { Array("A=".utf8) + $0 }, "environment \(words) reads back as \(c.environment)")
    require(decoded.statusText?.platformBytes == (words.last ?? []), "status text \(words.last ?? []) reads back as \(String(describing: decoded.statusText))")
}

/// The service a state file names, when its "name=" line holds a valid name.
private func recordedName(_ bytes: [UInt8]) -> ServiceName? {
    for line in bytes.split(separator: UInt8(ascii: "\n")) where line.starts(with: Array("name=".utf8)) {
        return ServiceName(String(decoding: line.dropFirst(5), as: UTF8.self))
    }
    return nil
}
