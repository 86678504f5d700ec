// Fuzzes `NAME.conf`: the input is the file's bytes. A file that applies
// must give a configuration that a state file records and reads back.
import Glibc
@testable import Daemonize

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigFile(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = inputBytes(start, count)
    let path = "/etc/swiftd/fuzz.conf"
    var configuration = ServiceConfiguration(name: ServiceName("fuzz")!)
    var origins: [String: String] = [:]
    do {
        try ConfigurationFile.apply(contents: bytes, path: path, to: &configuration, origins: &origins)
    } catch let error as ConfigurationError {
        require(ExitCode.of(error) == ExitCode.notConfigured, "a bad file gave exit code \(ExitCode.of(error))")
        require(error.message.hasPrefix(path + ":"), "message does not name the file: \(error.message)")
        return 0
    } catch let error as InvalidFile {
        require(ExitCode.of(error) == ExitCode.notConfigured, "a bad file gave exit code \(ExitCode.of(error))")
        require(error.message.hasPrefix(path + ":"), "message does not name the file: \(error.message)")
        return 0
    } catch {
        require(false, "ConfigurationFile.apply threw \(error), not a ConfigurationError or InvalidFile")
        return 0
    }
    configuration.source = .configFile(path)
    for key in origins.keys {
        require(ServiceConfiguration.key(key) != nil, "origin recorded for unknown key '\(key)'")
    }
    // What ConfigurationLoader does after the file: no options on top.
    do {
        try ConfigurationLoader.applyOptions([], to: &configuration, origins: &origins)
    } catch {
        require(false, "no options failed: \(error)")
    }
    _ = try? configuration.validate()
    if !configuration.command.isEmpty { requireStateRoundTrip(configuration) }
    return 0
}
