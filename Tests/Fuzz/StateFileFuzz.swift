// Fuzzes `NAME.state`: the input is the file's bytes, for the service named
// on its "name=" line (so that seeds of several services apply). Whatever
// reads must write back to a file that reads to the same state, and must
// print as `status`, `status --json` and `list` print it.
import Glibc
@testable import Daemonize

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStateFile(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = inputBytes(start, count)
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

/// The service a state file names, when its "name=" line holds a valid name.
private func recordedName(_ bytes: [UInt8]) -> ServiceName? {
    for line in bytes.split(separator: UInt8(ascii: "\n")) where line.starts(with: Array("name=".utf8)) {
        return ServiceName(String(decoding: line.dropFirst(5), as: UTF8.self))
    }
    return nil
}
