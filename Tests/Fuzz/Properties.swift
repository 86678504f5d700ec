// Shared by every fuzz target: how a broken property is reported, and the
// properties more than one target checks.
import Glibc
@testable import Daemonize

/// Stops the run when a property does not hold. libFuzzer treats the abort
/// like any other crash: it saves the input and prints where.
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if condition() { return }
    let text = "fuzz property failed: \(message())\n"
    _ = text.withCString { fputs($0, stderr) }
    abort()
}

/// The fuzzer's input as bytes.
func inputBytes(_ start: UnsafeRawPointer, _ count: Int) -> [UInt8] {
    Array(UnsafeRawBufferPointer(start: start, count: count))
}

/// The input as text: invalid UTF-8 becomes U+FFFD, as it does for swiftd's
/// own arguments.
func inputText(_ start: UnsafeRawPointer, _ count: Int) -> String {
    String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
}

/// The input as words separated by NUL bytes, the way argv reaches a program
/// (and swiftd holds them: bytes that are not UTF-8 included).
func inputWords(_ start: UnsafeRawPointer, _ count: Int) -> [String] {
    UnsafeRawBufferPointer(start: start, count: count)
        .split(separator: 0, omittingEmptySubsequences: false)
        .map { String(platformBytes: $0) }
}

/// A configuration recorded in a state file reads back with the same
/// settings and command: what `restart` and `status` rely on.
func requireStateRoundTrip(_ configuration: ServiceConfiguration) {
    var state = ServiceState(configuration: configuration)
    state.phase = .running
    state.pid = 4242
    state.serviceSince = 1_700_000_000.125
    let encoded = state.encoded()
    let decoded: ServiceState
    do {
        decoded = try ServiceState.decode(encoded, name: configuration.name)
    } catch {
        require(false, "state of \(configuration.settings) does not read back: \(error)\n\(String(decoding: encoded, as: UTF8.self))")
        return
    }
    // Byte for byte: String's == would take canonically equivalent text for the same.
    let before = configuration.settings.map { "\($0.0)=\($0.1)".platformBytes }
    let after = decoded.configuration.settings.map { "\($0.0)=\($0.1)".platformBytes }
    require(before == after, "settings \(configuration.settings) read back as \(decoded.configuration.settings)")
    require(decoded.configuration.argv.map(\.platformBytes) == configuration.argv.map(\.platformBytes),
            "argv \(configuration.argv) reads back as \(decoded.configuration.argv)")
    require(decoded.configuration.source == configuration.source, "source \(configuration.source) reads back as \(decoded.configuration.source)")
}
