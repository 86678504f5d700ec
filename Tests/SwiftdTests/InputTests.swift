import Glibc
import Daemonize
import TestSupport
import Testing

/// Bad input: one line, exit 2, a usage hint, nothing created.
@Suite(.hangLimit) struct InputTests {
    static let cases: [String: [String]] = [
        "name with dots up": ["start", "../x", "--", "/bin/true"],
        "name with slash": ["start", "a/b", "--", "/bin/true"],
        "empty name": ["start", "", "--", "/bin/true"],
        "name starting with a dot": ["start", ".x", "--", "/bin/true"],
        "unknown option": ["start", "x", "--frobnicate", "--", "/bin/true"],
        "bad duration": ["start", "x", "--stop-timeout", "ten", "--", "/bin/true"],
        "bad signal": ["start", "x", "--stop-signal", "SIGNOPE", "--", "/bin/true"],
        "bad umask": ["start", "x", "--umask", "888", "--", "/bin/true"],
        "bad restart policy": ["start", "x", "--restart", "sometimes", "--", "/bin/true"],
        "missing option value": ["start", "x", "--chdir"],
        "stop with a bad timeout": ["stop", "x", "--timeout", "-1"],
        // Found by Tests/Fuzz: these trapped on Int64 overflow (signal 4).
        "stop with a timeout past Int64": ["stop", "x", "--timeout", "11111111111111111111"],
        "start with a duration past Int64": ["start", "x", "--stop-timeout", "11111111111111111111ms", "--", "/bin/true"],
        "signal with a bad signal": ["signal", "x", "NOPE"],
        "unknown command": ["strat", "x"],
        "no name": ["start"],
        "run without a supervisor": ["run", "x", "--no-supervise", "--", "/bin/true"],
    ]

    @Test(arguments: cases.keys.sorted())
    func badInputIsTwoWithOneLineAndAHint(_ label: String) throws {
        try withHarness("input") { h throws in
            let result = try h.swiftd(try #require(Self.cases[label]))
            #expect(result.code == 2, "\(result)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 2, "\(result)")
            #expect(lines.first?.hasPrefix("swiftd: ") == true)
            #expect(lines.last?.hasPrefix("Try 'swiftd help") == true)
            #expect(result.stdout.isEmpty)
            #expect(!FileSystem.exists(h.runDirectory), "nothing is created")
            #expect(!FileSystem.exists(h.logDirectory))
        }
    }

    @Test func misspeltOptionGetsASuggestion() throws {
        try withHarness("input-suggest") { h throws in
            let result = try h.swiftd(["start", "x", "--stop-timout", "1s", "--", "/bin/true"])
            #expect(result.stderr.contains("did you mean '--stop-timeout'?"), "\(result)")
        }
    }

    @Test func helpAndVersion() throws {
        try withHarness("help") { h throws in
            let version = try h.swiftd(["--version"])
            #expect(version.code == 0)
            #expect(version.stdout.hasPrefix("swiftd "))
            for command in ["start", "stop", "status", "restart", "reload", "signal", "list", "logs", "run", "check"] {
                let help = try h.swiftd([command, "--help"])
                #expect(help.code == 0, "\(command): \(help)")
                #expect(help.stdout.hasPrefix("usage: swiftd \(command)"), "\(command): \(help)")
                let viaHelp = try h.swiftd(["help", command])
                #expect(viaHelp.stdout == help.stdout)
            }
            let startHelp = try h.swiftd(["help", "start"])
            for key in ServiceConfiguration.keys where key.name != "command" && key.name != "busy-exit-code" {
                #expect(startHelp.stdout.contains("--\(key.name)"), "start help lists --\(key.name)")
            }
            // Each command's help lists the options it takes, and no other.
            #expect(!startHelp.stdout.contains("--busy-exit-code"))
            #expect(try h.swiftd(["help", "run"]).stdout.contains("--busy-exit-code N"))
        }
    }

    /// Found by Tests/Fuzz (OptionParserFuzz): a value starting with a
    /// combining mark fused with the "=" of `--name=value`, which then read
    /// as an unknown option.
    @Test func optionValueAfterEqualsMayStartWithACombiningMark() throws {
        try withHarness("input-combining") { h throws in
            let result = try h.swiftd(["stop", "x", "--signal=\u{301}TERM"])
            #expect(result.code == 2, "\(result)")
            #expect(result.stderr.contains("bad signal '\u{301}TERM'"), "\(result)")
        }
    }

    /// Found by Tests/Fuzz: the state file of these starts did not read back
    /// (90s was recorded as "1m30s"; "argv=" fused with a combining mark), so
    /// `status` said "unknown" and `restart` failed.
    @Test func awkwardStartOptionsAreRecordedReadably() throws {
        try withHarness("input-recorded") { h throws in
            let start = try h.swiftd(["start", "x", "--stop-timeout", "90s", "--min-uptime", "0", "--",
                                      "/bin/sh", "-c", "exec sleep 100", "\u{301}"])
            #expect(start.code == 0, "\(start)")
            let state = try #require(h.state("x"))
            #expect(state.configuration.stopTimeout == .seconds(90))
            #expect(state.configuration.command.last == "\u{301}")
            let status = try h.swiftd(["status", "x"])
            #expect(status.code == 0, "\(status)")
            #expect(status.stdout.contains("x: running"), "\(status)")
            #expect(try h.swiftd(["stop", "x", "--timeout", "1s"]).code == 0)
        }
    }

    @Test func optionValuesWithEquals() throws {
        try withHarness("input-equals") { h throws in
            let result = try h.swiftd(["start", "x", "--min-uptime=0", "--restart=no", "--", h.fixturePath, "service"])
            #expect(result.code == 0, "\(result)")
            #expect(h.state("x")?.configuration.restart == ServiceConfiguration.RestartPolicy.no)
            #expect(h.state("x")?.configuration.minUptime == .zero)
        }
    }
}
