import Glibc
@testable import Daemonize
import Testing

/// `NAME.state` written and read back: pure encoding, no processes involved.
@Suite(.hangLimit) struct StateFileTests {
    func roundTrip(_ state: ServiceState) throws -> ServiceState {
        try ServiceState.decode(state.encoded(), name: state.name)
    }

    @Test func everySettingReadsBack() throws {
        var configuration = ServiceConfiguration(name: ServiceName("web")!)
        configuration.command = ["/usr/bin/python3", "-m", "http.server", "a b", "it's"]
        for (key, value) in [("restart", "always"), ("restart-delay", "250ms"), ("stop-signal", "INT"), ("env", "A=b c"),
                             ("log-max-size", "512K"), ("start-limit", "3/10s"), ("ready", "fd:4"), ("nice", "-5"),
                             ("limit", "nofile=1024:4096"), ("limit", "core=unlimited"), ("chroot", "/srv/jail"), ("iosched", "idle"),
                             ("cpusched", "rr:5"), ("oom-score-adjust", "-10"), ("env-file", "-/etc/default/web"), ("log", "syslog:local1")] {
            try configuration.apply(key, value)
        }
        var state = ServiceState(configuration: configuration)
        state.logReopens = 3
        state.pid = 1235
        state.serviceSince = 1_700_000_000.125
        state.statusText = "line one\nline two \\ end"
        let decoded = try roundTrip(state)
        #expect(decoded == state)
    }

    /// Arguments, paths and environment values are bytes: every byte from
    /// 0x01 to 0xFF reads back exactly. The file stays UTF-8 text (a byte
    /// that is not UTF-8 is written `\xNN`, which a reader older than that
    /// takes for the character U+00NN).
    @Test func everyByteOfArgumentsPathsAndEnvironmentValuesReadsBack() throws {
        let all = [UInt8](1...255)
        let name = all.filter { $0 != UInt8(ascii: "/") }
        func text(_ bytes: [UInt8]) -> String { String(platformBytes: bytes) }
        var configuration = ServiceConfiguration(name: ServiceName("web")!)
        let command = [all, Array("caf".utf8) + [0xE9], [0xF4, 0x8F, 0xBF, 0xA9], Array("\\xe9".utf8)]
        configuration.command = command.map(text)
        for (key, value) in [("chdir", [47] + name), ("env", Array("A=".utf8) + all), ("log", [47] + name), ("watch", [47] + name),
                             ("pidfile", [47] + name), ("chroot", [47] + name), ("env-file", [47] + name)] {
            try configuration.apply(key, text(value))
        }
        configuration.commandLineOptions = [text(Array("env=A=".utf8) + all)]
        var state = ServiceState(configuration: configuration)
        state.statusText = text(all)
        let encoded = state.encoded()
        #expect(String(validating: encoded, as: UTF8.self) != nil, "UTF-8 text")
        #expect(String(decoding: encoded, as: UTF8.self).contains("argv=caf\\xe9\n"))
        let decoded = try roundTrip(state)
        #expect(decoded.configuration.command.map(\.platformBytes) == command)
        #expect(decoded.configuration.settings.map { $0.0 + "=" + $0.1 }.map(\.platformBytes)
                == configuration.settings.map { $0.0 + "=" + $0.1 }.map(\.platformBytes))
        #expect(decoded.configuration.chdir.platformBytes == [47] + name)
        #expect(decoded.configuration.environment.map(\.platformBytes) == [Array("A=".utf8) + all])
        #expect(decoded.configuration.commandLineOptions.map(\.platformBytes) == [Array("env=A=".utf8) + all])
        #expect(decoded.statusText?.platformBytes == all)
        #expect(decoded.encoded() == encoded)
    }

    /// Found by Tests/Fuzz (OptionParserFuzz): a stop-timeout of 90s was
    /// recorded as "1m30s", which did not read back: `status` said
    /// "unknown", and `restart` failed.
    @Test func durationsThatAreNotOneUnitReadBack() throws {
        var configuration = ServiceConfiguration(name: ServiceName("web")!)
        configuration.command = ["sleep", "100"]
        try configuration.apply("stop-timeout", "90s")
        try configuration.apply("restart-max-delay", "3601s")
        let decoded = try roundTrip(ServiceState(configuration: configuration))
        #expect(decoded.configuration.stopTimeout == .seconds(90))
        #expect(decoded.configuration.restartMaxDelay == .seconds(3601))
    }

    /// Found by Tests/Fuzz (OptionParserFuzz): an argument starting with a
    /// combining mark fused with the "=" of its line ("argv=\u{301}"), and
    /// the state file no longer read (`swiftd start x -- cmd $'\xcc\x81'`).
    /// "\r\n", one Character, was written unescaped.
    @Test func valuesWithCombiningMarksAndCRLFReadBack() throws {
        var configuration = ServiceConfiguration(name: ServiceName("web")!)
        configuration.command = ["/bin/echo", "\u{301}", "=\u{301}", "a\r\nb", "\\\u{301}"]
        try configuration.apply("env", "A=\r\n")
        try configuration.apply("user", "\u{301}")
        var state = ServiceState(configuration: configuration)
        state.statusText = "\u{301}ready\r\n"
        let encoded = state.encoded()
        #expect(!encoded.contains(UInt8(ascii: "\r")))
        let decoded = try ServiceState.decode(encoded, name: state.name)
        #expect(decoded == state)
    }

    /// Found by Tests/Fuzz (StateFileFuzz): "since=1e300" read, but writing
    /// the state back (as `stop` does) overflowed Int64 milliseconds and trapped.
    @Test func aSinceBeyondInt64MillisecondsWritesBack() throws {
        let state = try ServiceState.decode(Array("version=1\nname=web\nsince=1e300\n".utf8), name: ServiceName("web")!)
        #expect(state.serviceSince == 1e300)
        #expect(try roundTrip(state).serviceSince == 1e300)
        #expect(formatSeconds(1.5) == "1.500")
        #expect(formatSeconds(-0.5) == "-0.5")
    }
}

/// Numbers and keys are read from the bytes (ServiceState+Decode.swift): every
/// form must read as the standard library reads the unescaped text.
@Suite(.hangLimit) struct StateFileFastPathTests {
    func decode(_ lines: String, name: String = "web") throws -> ServiceState {
        try ServiceState.decode(Array("version=1\nname=\(name)\n\(lines)".utf8), name: try #require(ServiceName(name)))
    }

    @Test func numbersReadAsTheStandardLibraryReadsThem() throws {
        for text in ["0", "7", "007", "+3", "\\x33", "999999999999999999", "9999999999999999999", "18446744073709551615"] {
            let unescaped = text == "\\x33" ? "3" : text
            let restarts = try? decode("restarts=\(text)\n").restarts
            #expect(restarts == Int(unescaped).flatMap { $0 >= 0 ? $0 : nil }, "restarts=\(text)")
            let ticks = try? decode("pid-start-time=\(text)\n").pidStartTime
            #expect(ticks == UInt64(unescaped), "pid-start-time=\(text)")
        }
        for text in ["-1", "", "1x", " 1", "1 "] {
            #expect(throws: ConfigurationError.self, "restarts=\(text)") { try decode("restarts=\(text)\n") }
        }
    }

    @Test func secondsReadAsDoubleReadsThem() throws {
        for text in ["1796052939.806", "1700000000.125", "0.001", "0000.500", "5", "1e3", "1.5", "999999999999.999",
                     "9999999999999.999", "12.3456", "\\x31.250"] {
            let unescaped = text == "\\x31.250" ? "1.250" : text
            #expect(try decode("since=\(text)\n").serviceSince == Double(unescaped), "since=\(text)")
        }
        for text in ["-1.000", "1.-00", "1.5x0", "nan", "inf"] {
            #expect(throws: ConfigurationError.self, "since=\(text)") { try decode("since=\(text)\n") }
        }
    }

    @Test func pidsAndKeysAreMatchedExactly() throws {
        #expect(try decode("pid=1234\nsupervisor=\\x31\n").pid == 1234)
        #expect(try decode("supervisor=\\x31\n").supervisorPID == 1)
        for bad in ["pid=0", "pid=01", "pid=-5", "pid=2147483648", "new-pid=1 "] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try decode(bad + "\n") }
        }
        // A key that merely starts like a known one is a newer swiftd's, skipped.
        let state = try decode("pidx=5\npi=5\nrestarts-x=9\nconfig.=1\nconfig=2\n")
        #expect(state.pid == nil && state.restarts == 0)
        // The name is compared by scalar: U+212A KELVIN SIGN is canonically "K", but not this service's name.
        #expect(throws: ConfigurationError.self) {
            try ServiceState.decode(Array("version=1\nname=\u{212A}eep\n".utf8), name: try #require(ServiceName("Keep")))
        }
    }

    /// An all-ASCII record skips the UTF-8 check; any other byte, NUL among
    /// them, still gets it, wherever it is.
    @Test func onlyPlainASCIISkipsTheTextChecks() throws {
        #expect(try decode("status-text=caf\u{E9} \u{1F600}\n").statusText == "caf\u{E9} \u{1F600}")
        for bad: [UInt8] in [[0], [0xFF], [0xC3], [0xED, 0xA0, 0x80], [0x7F, 0]] {
            let bytes = Array("version=1\nname=web\nstatus-text=a".utf8) + bad + Array("\n".utf8)
            #expect(throws: ConfigurationError.self, "\(bad)") { try ServiceState.decode(bytes, name: ServiceName("web")!) }
        }
    }
}

/// A state file from a newer swiftd, and values split at "=" by scalar.
@Suite(.hangLimit) struct StateFileCompatibilityTests {
    @Test func unknownSettingsFromANewerSwiftdAreSkipped() throws {
        let text = "version=1\nname=x\nmode=supervised\nphase=running\nargv=/bin/sleep\nconfig.some-future-key=on\nconfig.chdir=/srv\n"
        let state = try ServiceState.decode(Array(text.utf8), name: try #require(ServiceName("x")))
        #expect(state.configuration.chdir == "/srv")
        #expect(throws: ConfigurationError.self) {
            try ServiceState.decode(Array((text + "config.umask=999\n").utf8), name: ServiceName("x")!)
        }
    }

    @Test func environmentValuesMayStartWithACombiningMark() throws {
        var configuration = ServiceConfiguration(name: try #require(ServiceName("x")))
        try configuration.apply("env", "A=\u{301}x")
        #expect(configuration.serviceEnvironment(credentials: nil, notifySocket: nil).contains("A=\u{301}x"))
        var origins: [String: String] = [:]
        try ConfigurationFile.apply(contents: Array("command = /bin/true\nenv = B=\u{301}\n".utf8), path: "x.conf",
                                    to: &configuration, origins: &origins)
        #expect(configuration.environment.last == "B=\u{301}")
    }
}
