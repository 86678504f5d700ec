internal import Glibc

/// Reading `NAME.state` back: `ServiceState.read` and every status, list and
/// restart go through `decode`. Lines are split, keys matched and numbers read
/// on the bytes, in place (a buffer, not slices of the array: no retain, no
/// bounds check for each); a String is made only for a value that is text.
extension ServiceState {
    private typealias Bytes = UnsafeBufferPointer<UInt8>

    /// Parses the file's text; unknown keys are ignored (a newer swiftd may add some).
    package static func decode(_ bytes: [UInt8], name: ServiceName) throws -> ServiceState {
        try bytes.withUnsafeBufferPointer { try decode(text: $0, name: name) }
    }

    private static func decode(text bytes: Bytes, name: ServiceName) throws -> ServiceState {
        // A record swiftd wrote is ASCII unless a value is not (one pass
        // says so); anything else is checked for NUL and UTF-8 the long way.
        let ascii = bytes.allSatisfy({ $0 != 0 && $0 < 0x80 })
        if !ascii {
            guard !bytes.contains(0) else { throw ConfigurationError(key: "", message: "holds NUL bytes (not a state file)") }
            guard String(validatingUTF8CString: Array(bytes)) != nil else { throw ConfigurationError(key: "", message: "not UTF-8 text (not a state file)") }
        }
        var state = ServiceState(configuration: ServiceConfiguration(name: name))
        var argv: [String] = []
        argv.reserveCapacity(4)  // most commands: one allocation, not one for each word
        var sawVersion = false
        // Lines and "=" are found by byte, not by Character: a value that
        // starts with a combining mark would otherwise fuse with the "=". In
        // valid UTF-8 the bytes of "\n" and "=" occur only as those scalars.
        // Each line is a slice found in place: no array of lines is built.
        var number = 0
        var next = 0
        while next < bytes.count {
            let end = index(of: UInt8(ascii: "\n"), in: bytes, from: next) ?? bytes.count
            let line = Bytes(rebasing: bytes[next..<end])
            next = end + 1
            if line.isEmpty { continue }
            number += 1
            guard let eq = index(of: UInt8(ascii: "="), in: line, from: 0) else {
                throw ConfigurationError(key: "", message: "line \(number): expected key=value")
            }
            let key = Bytes(rebasing: line[..<eq]), value = Bytes(rebasing: line[(eq + 1)...])
            if Self.key(key, is: "version") {
                let version = unescape(value, ascii: ascii)
                guard version == "1" else { throw ConfigurationError(key: "version", message: "line \(number): unsupported version \(version)") }
                sawVersion = true
            } else if Self.key(key, is: "argv") {
                argv.append(unescape(value, ascii: ascii))
            } else {
                try state.take(key, value, line: number, name: name, ascii: ascii)
            }
        }
        guard sawVersion else { throw ConfigurationError(key: "version", message: "no version line (not a state file)") }
        state.configuration.restoreArgv(argv)
        return state
    }

    /// Where `byte` first occurs in `bytes` at or after `start` (memchr).
    private static func index(of byte: UInt8, in bytes: Bytes, from start: Int) -> Int? {
        guard let base = bytes.baseAddress, start < bytes.count,
              let found = memchr(base + start, Int32(byte), bytes.count - start) else { return nil }
        return UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
    }

    /// One `key=value` line of the file (`line` counts the non-empty lines).
    /// The key is matched, and a number read, from the bytes themselves: no
    /// String is made for them (a status of a thousand services reads
    /// fifteen thousand lines). A value with an escape in it goes the long way.
    /// `ascii`: the whole file is ASCII.
    private mutating func take(_ key: Bytes, _ value: Bytes, line: Int, name: ServiceName, ascii: Bool) throws {
        func text() -> String { ServiceState.unescape(value, ascii: ascii) }
        func bad() -> ConfigurationError {
            let key = String(decoding: key, as: UTF8.self)
            return ConfigurationError(key: key, message: "line \(line): bad \(key) '\(text())'")
        }
        func processID() throws -> pid_t {
            let parsed = value.contains(UInt8(ascii: "\\")) ? PIDFile.parsePID(text().utf8) : PIDFile.parsePID(value)
            guard let parsed else { throw bad() }
            return parsed
        }
        func count() throws -> Int {
            guard let n = ServiceState.number(value, as: Int.self), n >= 0 else { throw bad() }
            return n
        }
        func ticks() throws -> UInt64 {
            guard let t = ServiceState.number(value, as: UInt64.self) else { throw bad() }
            return t
        }
        if key.count > 7, ServiceState.key(Bytes(rebasing: key.prefix(7)), is: "config.") {
            // A setting a newer swiftd knows and this one does not is
            // skipped, like any unknown key; a bad value of a known one is an error.
            guard let setting = ServiceConfiguration.key(String(decoding: key.dropFirst(7), as: UTF8.self)) else { return }
            do {
                try configuration.apply(setting, text(), recorded: true)
            } catch let error as ConfigurationError {
                throw ConfigurationError(key: String(decoding: key, as: UTF8.self), message: "line \(line): \(error.message)")
            }
            return
        }
        let k = { (known: StaticString) in ServiceState.key(key, is: known) }
        if k("name") {
            // By scalar, as every name is compared: never by canonical
            // equivalence. (Without an escape, by byte: the same in UTF-8.)
            let same = value.contains(UInt8(ascii: "\\")) ? text().unicodeScalars.elementsEqual(name.rawValue.unicodeScalars)
                                                           : value.elementsEqual(name.rawValue.utf8)
            guard same else {
                throw ConfigurationError(key: "name", message: "line \(line): names service '\(text())', not '\(name)'")
            }
        } else if k("mode") { guard let m = Mode(rawValue: text()) else { throw bad() }; mode = m }
        else if k("phase") { guard let p = Phase(rawValue: text()) else { throw bad() }; phase = p }
        else if k("supervisor") { supervisorPID = try processID() }
        else if k("supervisor-start-time") { supervisorStartTime = try ticks() }
        else if k("pid") { pid = try processID() }
        else if k("pid-start-time") { pidStartTime = try ticks() }
        else if k("main-seen") { mainSeen = try ticks() }
        else if k("since") { guard let t = ServiceState.seconds(value), t.isFinite, t >= 0 else { throw bad() }; serviceSince = t }
        else if k("restarts") { restarts = try count() }
        else if k("source") { guard let s = ServiceConfiguration.Source(record: text()) else { throw bad() }; configuration.source = s }
        else if k("option") { configuration.commandLineOptions.append(text()) }
        else if k("last-exit") { guard let e = ExitStatus(record: text()) else { throw bad() }; lastExit = e }
        else if k("status-text") { statusText = text() }
        else if k("failure") { failure = text() }
        else if k("dropped-lines") { droppedLines = try count() }
        else if k("log-reopens") { logReopens = try count() }
        else if k("restarts-begun") { restartsBegun = try count() }
        else if k("restarts-ended") { restartsEnded = try count() }
        else if k("restart-failure") { restartFailure = text() }
        else if k("new-pid") { newPID = try processID() }
        else if k("old-pid") { oldPID = try processID() }
        // Any other key is a newer swiftd's.
    }

    /// The key of a line is exactly `known` (ASCII), byte for byte.
    @inline(__always)
    private static func key(_ key: Bytes, is known: StaticString) -> Bool {
        key.count == known.utf8CodeUnitCount && memcmp(key.baseAddress!, known.utf8Start, key.count) == 0
    }

    /// Seconds as `formatSeconds` writes them ("1796052939.806"): whole
    /// milliseconds (below 2^53, so exact) over 1000, one correctly rounded
    /// division: the same Double as `Double(text)`, without its strtod. Any
    /// other form goes through Double(text).
    private static func seconds(_ value: Bytes) -> Double? {
        if value.count >= 5, value.count <= 16, value[value.endIndex - 4] == UInt8(ascii: "."),
           let whole = digits(Bytes(rebasing: value.dropLast(4))), let fraction = digits(Bytes(rebasing: value.suffix(3))) {
            return Double(whole * 1000 + fraction) / 1000
        }
        return Double(unescape(value))
    }

    /// Plain decimal digits (at most 18, so that they fit any count), else nil.
    private static func digits(_ value: Bytes) -> Int64? {
        guard !value.isEmpty, value.count <= 18 else { return nil }
        var n: Int64 = 0
        for digit in value {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            n = n * 10 + Int64(digit - UInt8(ascii: "0"))
        }
        return n
    }

    /// A count or a clock reading. Plain digits, the form `encoded` writes,
    /// are read in place; anything else (an escape, a sign, more digits than
    /// fit at once) as the standard library reads the unescaped text.
    private static func number<T: FixedWidthInteger>(_ value: Bytes, as: T.Type) -> T? {
        if let n = digits(value) { return T(exactly: n) }
        return T(unescape(value))
    }

    /// A value's bytes with its escapes undone (`\\`, `\n`, `\r`, `\xNN` for
    /// any byte), held as `String(platformBytes:)` holds them. `ascii`: the
    /// whole file is ASCII (nothing then to check but the escapes).
    private static func unescape(_ bytes: Bytes, ascii: Bool = false) -> String {
        let backslash = UInt8(ascii: "\\")
        // Most values hold no escape: decoded at once, not byte by byte.
        if !bytes.contains(backslash) { return ascii ? String(decoding: bytes, as: UTF8.self) : String(platformBytes: bytes) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            i += 1
            guard byte == backslash, i < bytes.count else {
                out.append(byte)
                continue
            }
            let next = bytes[i]
            i += 1
            switch next {
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "x"):
                if i + 2 <= bytes.count, let high = hexDigit(bytes[i]), let low = hexDigit(bytes[i + 1]) {
                    out.append(high << 4 | low)
                    i += 2
                } else {
                    out.append(next)
                }
            default: out.append(next)
            }
        }
        return String(platformBytes: out)
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
