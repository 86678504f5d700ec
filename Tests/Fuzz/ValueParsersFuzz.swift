// Fuzzes the small value parsers with the whole input as one value: each must
// return nil or a value that prints back to text it parses to the same value.
import Glibc
import CDaemonize
@testable import Daemonize

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzValueParsers(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = inputBytes(start, count)
    let text = inputText(start, count)

    if let interval = Interval(parsing: text) {
        require(Interval(parsing: interval.description) == interval, "Interval \(interval.nanoseconds)ns prints as '\(interval.description)'")
        require(interval <= Interval(nanoseconds: Interval.maximum), "Interval '\(text)' is longer than the maximum")
        _ = interval.approximate
        _ = interval.milliseconds
    }
    if let size = ByteSize(parsing: text) {
        require(ByteSize(parsing: size.description) == size, "ByteSize \(size.bytes) prints as '\(size.description)'")
    }
    if let signal = ProcessSignal(parsing: text) {
        require(signal.rawValue >= 1 && signal.rawValue < dz_nsig(), "ProcessSignal '\(text)' parsed to \(signal.rawValue)")
        require(ProcessSignal(parsing: signal.name) == signal, "ProcessSignal \(signal.rawValue) prints as '\(signal.name)'")
    }
    if let pid = PIDFile.parsePID(bytes) {
        require(pid > 0, "parsePID gave \(pid)")
        require(PIDFile.parsePID(Array("\(pid)\n".utf8)) == pid, "pid \(pid) does not read back")
    }
    if let limit = ServiceConfiguration.StartLimit(parsing: text) {
        let again = ServiceConfiguration.StartLimit(parsing: limit.description)
        // "0/5s" and "none" both mean no limit; only the count matters then.
        require(again != nil && (again == limit || (limit.count == 0 && again?.count == 0)),
                "StartLimit \(limit.count)/\(limit.period) prints as '\(limit.description)'")
    }
    if let readiness = ServiceConfiguration.Readiness(parsing: text) {
        require(ServiceConfiguration.Readiness(parsing: readiness.description) == readiness, "Readiness prints as '\(readiness.description)'")
    }
    if let status = ExitStatus(record: text) {
        require(ExitStatus(record: status.record) == status, "ExitStatus prints as '\(status.record)'")
        _ = status.description
    }
    if let name = ServiceName(text) {
        require(name.rawValue.utf8.allSatisfy { $0 != UInt8(ascii: "/") } && name.rawValue != "." && name.rawValue != "..",
                "ServiceName '\(text)' could leave its directory")
    }
    _ = NotifyListener.parse(bytes[...])
    if let limit = try? ServiceConfiguration.parseLimit(text) {
        let printed = ServiceConfiguration.limitText(limit)
        require((try? ServiceConfiguration.parseLimit(printed)) == limit, "ResourceLimit prints as '\(printed)'")
        require(limit.hard.map { hard in limit.soft.map { $0 <= hard } ?? false } ?? true, "limit '\(text)' has its soft limit above its hard one")
    }
    for key in ["iosched", "cpusched"] {
        var configuration = ServiceConfiguration(name: ServiceName("x")!)
        guard (try? configuration.apply(key, text)) != nil else { continue }
        var again = ServiceConfiguration(name: ServiceName("x")!)
        require((try? again.apply(key, configuration.value(of: key))) != nil && again == configuration, "\(key) '\(text)' prints as '\(configuration.value(of: key))'")
    }
    // Environment files: any bytes give entries that are NAME=VALUE with a variable name, or a line number in the file.
    do {
        for entry in try EnvironmentFile.parse(bytes) {
            // By byte: a value that begins with a combining mark fuses with the "=" as a Character.
            let name = entry.utf8.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false).first
            require(name.map { EnvironmentFile.isName(String(decoding: $0, as: UTF8.self)) } == true, "env file entry '\(entry)'")
        }
    } catch {
        require(error.line >= 1 && error.line <= bytes.filter { $0 == 10 }.count + 1, "env file error at line \(error.line)")
    }

    // Command lines: whatever splits must quote back to the same words.
    if let words = try? CommandWords.split(text) {
        let quoted = CommandWords.quote(words)
        require((try? CommandWords.split(quoted)) == words, "split(quote(\(words))) differs; quoted: \(quoted)")
    }
    _ = CommandWords.uncommented(text)
    // And any words at all (NUL-separated in the input) survive quoting.
    let words = inputWords(start, count)
    let quoted = CommandWords.quote(words)
    require((try? CommandWords.split(quoted)) == words, "split(quote(\(words))) differs; quoted: \(quoted)")
    return 0
}
