import Glibc
@testable import Daemonize
import TestSupport
import Testing

/// `NAME.conf` parsing: every key, comments, quoting, errors with their line.
@Suite(.hangLimit) struct ConfigurationFileTests {
    /// One key: a value it accepts and what that sets, and a value it refuses.
    struct KeyCase: Sendable, CustomTestStringConvertible {
        var key: String
        var good: String
        var holds: @Sendable (ServiceConfiguration) -> Bool
        var bad: String
        /// Part of the reason given for `bad`.
        var reason: String
        var testDescription: String { key }
    }

    static let keyCases: [KeyCase] = [
        KeyCase(key: "command", good: #"/bin/echo 'a b' "c \"d\"" e\ f $HOME"#,
                holds: { $0.command == ["/bin/echo", "a b", #"c "d""#, "e f", "$HOME"] && !$0.shell }, bad: #"/bin/echo "open"#, reason: "unterminated \" quote"),
        KeyCase(key: "shell", good: "yes", holds: { $0.shell }, bad: "maybe", reason: "expected yes or no"),
        KeyCase(key: "chdir", good: "/tmp", holds: { $0.chdir == "/tmp" }, bad: "tmp", reason: "expected an absolute path"),
        KeyCase(key: "umask", good: "027", holds: { $0.umask == 0o027 }, bad: "999", reason: "expected an octal mode"),
        KeyCase(key: "user", good: "nobody:nogroup", holds: { $0.user == "nobody" && $0.group == "nogroup" }, bad: ":nogroup", reason: "expected USER or USER:GROUP"),
        KeyCase(key: "group", good: "daemon", holds: { $0.group == "daemon" && $0.user == nil }, bad: "''", reason: "empty group"),
        KeyCase(key: "env", good: "GREETING=hello world", holds: { $0.environment == ["GREETING=hello world"] }, bad: "GREETING", reason: "expected NAME=VALUE"),
        KeyCase(key: "clear-env", good: "true", holds: { $0.clearEnvironment }, bad: "2", reason: "expected yes or no"),
        KeyCase(key: "log", good: "/var/tmp/web.log", holds: { $0.log == .file("/var/tmp/web.log") }, bad: "web.log", reason: "expected an absolute path, none or syslog[:FACILITY]"),
        KeyCase(key: "log-max-size", good: "512K", holds: { $0.logMaxSize == ByteSize(bytes: 512 << 10) }, bad: "1K", reason: "at least 4K"),
        KeyCase(key: "log-keep", good: "2", holds: { $0.logKeep == 2 }, bad: "1001", reason: "from 0 to 1000"),
        KeyCase(key: "log-timestamps", good: "on", holds: { $0.logTimestamps }, bad: "often", reason: "expected yes or no"),
        KeyCase(key: "no-supervise", good: "yes", holds: { !$0.supervise }, bad: "y", reason: "expected yes or no"),
        KeyCase(key: "restart", good: "always", holds: { $0.restart == .always }, bad: "sometimes", reason: "expected no, on-failure or always"),
        KeyCase(key: "restart-delay", good: "250ms", holds: { $0.restartDelay == .milliseconds(250) }, bad: "soon", reason: "expected a duration"),
        KeyCase(key: "restart-max-delay", good: "1m", holds: { $0.restartMaxDelay == .seconds(60) }, bad: "-1", reason: "expected a duration"),
        KeyCase(key: "start-limit", good: "3/10s", holds: { $0.startLimit == .init(count: 3, period: .seconds(10)) }, bad: "5", reason: "expected N/PERIOD"),
        KeyCase(key: "restart-exit-code", good: "42", holds: { $0.restartExitCode == 42 }, bad: "0", reason: "from 1 to 255"),
        KeyCase(key: "ready", good: "fd:4", holds: { $0.ready == .descriptor(4) }, bad: "fd:2", reason: "expected exec, notify or fd:N"),
        KeyCase(key: "min-uptime", good: "1.5s", holds: { $0.minUptime == .milliseconds(1500) }, bad: "1x", reason: "expected a duration"),
        KeyCase(key: "ready-timeout", good: "2m", holds: { $0.readyTimeout == .seconds(120) }, bad: "1 h", reason: "expected a duration"),
        KeyCase(key: "pidfile", good: "/tmp/daemon.pid", holds: { $0.daemonPIDFile == "/tmp/daemon.pid" }, bad: "/nonexistent/daemon.pid",
                reason: "its directory /nonexistent does not exist"),
        KeyCase(key: "watchdog", good: "5s", holds: { $0.watchdog == .seconds(5) }, bad: "0", reason: "at least 1ms"),
        KeyCase(key: "stop-signal", good: "SIGINT", holds: { $0.stopSignal == .interrupt }, bad: "NOPE", reason: "expected a signal"),
        KeyCase(key: "stop-signal", good: "QUIT/5s/TERM/5s/KILL", holds: { $0.stopSchedule.description == "QUIT/5s/TERM/5s/KILL" && $0.stopSignal == .quit },
                bad: "TERM/KILL", reason: "or a schedule like QUIT/5s/TERM/5s/KILL"),
        KeyCase(key: "stop-timeout", good: "3", holds: { $0.stopTimeout == .seconds(3) }, bad: "ten", reason: "expected a duration"),
        KeyCase(key: "kill-mode", good: "main", holds: { $0.killMode == .main }, bad: "process", reason: "expected group or main"),
        KeyCase(key: "reload-signal", good: "10", holds: { $0.reloadSignal == .user1 }, bad: "SIGFOO", reason: "expected a signal"),
        KeyCase(key: "watch", good: "/etc/hosts", holds: { $0.watch == ["/etc/hosts"] }, bad: "\"\"", reason: "empty path"),
        KeyCase(key: "watch-action", good: "reload", holds: { $0.watchAction == .reload }, bad: "explode", reason: "expected restart or reload"),
        KeyCase(key: "listen", good: "unix:/run/web.sock,mode=0660,owner=www-data,name=admin",
                holds: { $0.listen.first?.kind == .unix(path: "/run/web.sock", mode: 0o660, owner: "www-data") && $0.listen.first?.name == "admin" },
                bad: "tcp:localhost:http", reason: "port 'http' is not a number from 0 to 65535"),
        KeyCase(key: "restart-mode", good: "overlap", holds: { $0.restartMode == .overlap }, bad: "blue-green", reason: "expected stop-first or overlap"),
        KeyCase(key: "settle", good: "500ms", holds: { $0.settle == .milliseconds(500) }, bad: "soon", reason: "expected a duration"),
        KeyCase(key: "busy-exit-code", good: "75", holds: { $0.busyExitCode == 75 }, bad: "-1", reason: "from 0 to 255"),
        KeyCase(key: "nice", good: "-5", holds: { $0.nice == -5 }, bad: "20", reason: "from -20 to 19"),
        KeyCase(key: "env-file", good: "-/etc/default/x", holds: { $0.environmentFiles == ["-/etc/default/x"] }, bad: "default/x", reason: "expected an absolute path"),
        KeyCase(key: "limit", good: "nofile=1024:4096", holds: { $0.limits == [ResourceLimit(.nofile, soft: 1024, hard: 4096)] }, bad: "files=10",
                reason: "unknown resource 'files'"),
        KeyCase(key: "chroot", good: "/srv/jail", holds: { $0.rootDirectory == "/srv/jail" }, bad: "jail", reason: "expected an absolute path"),
        KeyCase(key: "iosched", good: "real-time:2", holds: { $0.ioScheduling == IOScheduling(.realTime, level: 2) }, bad: "best-effort:8",
                reason: "the level must be 0 to 7"),
        KeyCase(key: "cpusched", good: "rr:10", holds: { $0.cpuScheduling == CPUScheduling(.rr, priority: 10) }, bad: "fifo:100", reason: "1 to 99"),
        KeyCase(key: "oom-score-adjust", good: "-500", holds: { $0.oomScoreAdjustment == -500 }, bad: "1001", reason: "from -1000 to 1000"),
    ]

    /// Writes `text` as a config file and parses it.
    func parse(_ text: String, in scratch: Scratch, file: String = "x.conf") throws -> (ServiceConfiguration, [String: String], String) {
        let path = scratch.file(file)
        try FileSystem.writeAtomically(path, Array(text.utf8))
        var configuration = ServiceConfiguration(name: ServiceName("x")!)
        var origins: [String: String] = [:]
        try ConfigurationFile.apply(path, to: &configuration, origins: &origins)
        return (configuration, origins, path)
    }

    /// What a user sees of the error `body` throws, its message and the exit
    /// code it ends a command with (nil when it throws none).
    func failure(_ body: () throws -> Void) -> ServiceError? {
        do {
            try body()
            return nil
        } catch {
            return ServiceError("\(error)", code: ExitCode.of(error))
        }
    }

    @Test func everyKeyHasACase() {
        #expect(Set(Self.keyCases.map(\.key)) == Set(ServiceConfiguration.keys.map(\.name)))
    }

    @Test(arguments: keyCases)
    func everyKeyTakesItsValue(_ c: KeyCase) throws {
        try withScratch("conf-key") { scratch throws in
            let command = c.key == "command" ? "" : "command = /bin/true\n"
            let (configuration, origins, path) = try parse("# \(c.key)\n\(command)\(c.key) = \(c.good)\n", in: scratch)
            #expect(c.holds(configuration), "\(c.key) = \(c.good)")
            #expect(origins[c.key] == "\(path):\(c.key == "command" ? 2 : 3)")
        }
    }

    @Test(arguments: keyCases)
    func everyKeyRefusesABadValueNamingTheLine(_ c: KeyCase) throws {
        try withScratch("conf-bad") { scratch throws in
            let command = c.key == "command" ? "" : "command = /bin/true\n"
            let error = failure { _ = try parse("\(command)\n# a comment\n\(c.key) = \(c.bad)\n", in: scratch) }
            let line = c.key == "command" ? 3 : 4
            #expect(error?.code == 6)
            #expect(error?.message.hasPrefix("\(scratch.file("x.conf")):\(line): bad value for \(c.key): ") == true, "\(String(describing: error))")
            #expect(error?.message.contains(c.reason) == true, "\(String(describing: error))")
        }
    }

    @Test func everyKeyAsAnOptionWithTheSameValue() throws {
        // The same values given as command-line options set the same thing.
        for c in Self.keyCases where c.key != "command" {
            var configuration = ServiceConfiguration(name: ServiceName("x")!)
            configuration.command = ["/bin/true"]
            var origins: [String: String] = [:]
            try ConfigurationLoader.applyOptions([(c.key, c.good)], to: &configuration, origins: &origins)
            #expect(c.holds(configuration), "--\(c.key) \(c.good)")
            #expect(origins[c.key] == "command line")
        }
    }

    @Test func commentsBlankLinesAndSpacing() throws {
        try withScratch("conf-comments") { scratch throws in
            let (c, origins, path) = try parse("""
                # a comment
                   # an indented comment

                command=/bin/echo one   two#three  # a trailing comment
                \tchdir\t=\t/tmp\t
                env = URL=http://example.com/a#b
                env = COLOUR=#fff
                env = "HASH= # kept"   # dropped
                env = 'SINGLE=it"s'
                restart = always # policy
                """, in: scratch)
            #expect(c.command == ["/bin/echo", "one", "two#three"])
            #expect(c.chdir == "/tmp")
            #expect(c.environment == ["URL=http://example.com/a#b", "COLOUR=#fff", "HASH= # kept", #"SINGLE=it"s"#])
            #expect(c.restart == .always)
            #expect(origins["command"] == "\(path):4")
            #expect(origins["env"] == "\(path):6, \(path):7, \(path):8, \(path):9")
            #expect(origins["restart"] == "\(path):10")
            // "INT#ERRUPT": a # inside a word is not a comment.
            let error = failure { _ = try parse("command = /bin/true\nstop-signal = INT#ERRUPT\n", in: scratch) }
            #expect(error?.message.contains("'INT#ERRUPT'") == true, "\(String(describing: error))")
        }
    }

    @Test(arguments: [
        ("a b # c", "a b"),
        ("a b#c", "a b#c"),
        ("a '#' b", "a '#' b"),
        (##"a "b # c" d # e"##, ##"a "b # c" d"##),
        (##"a \# b"##, ##"a \# b"##),
        (##"a\ #b"##, ##"a\ #b"##),
        (##"a "\"# b" #c"##, ##"a "\"# b""##),
        ("# all", ""),
        ("a 'open # c", "a 'open # c"),
        ("a\t#c", "a"),
    ])
    func commandCommentsFollowShellWords(_ line: String, _ expected: String) {
        #expect(CommandWords.uncommented(line) == expected)
    }

    @Test func quotingInCommands() throws {
        #expect(try CommandWords.split(#"  a  'b c'  "d \"e\" \\ \$f \g"  h\ i  ''  "#) == ["a", "b c", #"d "e" \ $f \g"#, "h i", ""])
        #expect(try CommandWords.split(#"x"y"'z'"#) == ["xyz"])
        #expect(throws: CommandWords.SplitError.unterminatedQuote("'")) { try CommandWords.split("a 'b") }
        #expect(throws: CommandWords.SplitError.unterminatedQuote("\"")) { try CommandWords.split(#"a "b"#) }
        #expect(throws: CommandWords.SplitError.trailingBackslash) { try CommandWords.split(#"a \"#) }
        let words = ["plain", "two words", "it's", #"quote""#, "$HOME", "", "#hash", "tab\there"]
        #expect(try CommandWords.split(CommandWords.quote(words)) == words)
    }

    @Test func quotedValuesAreLiteral() throws {
        try withScratch("conf-quotes") { scratch throws in
            let (c, _, _) = try parse("""
                command = /bin/true
                chdir = "/tmp"
                log = '/var/tmp/a b.log'
                env = "X=  spaces kept  "
                env = 'Y=$HOME \\n'
                watch = "/etc/a # b" # comment
                """, in: scratch)
            #expect(c.chdir == "/tmp")
            #expect(c.log == .file("/var/tmp/a b.log"))
            #expect(c.environment == ["X=  spaces kept  ", #"Y=$HOME \n"#])
            #expect(c.watch == ["/etc/a # b"])
            for (text, reason) in [("env = \"A=1\" \"B=2\"", "'\"B=2\"' after the closing \" quote"), ("env = 'A=1", "unterminated ' quote")] {
                let error = failure { _ = try parse("command = /bin/true\n\(text)\n", in: scratch) }
                #expect(error?.message.hasSuffix(":2: bad value for env: \(reason)") == true, "\(String(describing: error))")
            }
        }
    }

    /// `env = NAME="VALUE"`: the quotes around the value go, as around a whole value.
    @Test func envValueAfterTheNameMayBeQuoted() throws {
        try withScratch("conf-env-quotes") { scratch throws in
            let (c, _, _) = try parse(#"""
                command = /bin/true
                env = GREETING="hello world"
                env = MOTD=' # welcome ' # a comment
                env = JSON={"a": 1}
                env = EMPTY=""
                env = PLAIN=a "b" c
                """#, in: scratch)
            #expect(c.environment == ["GREETING=hello world", "MOTD= # welcome ", #"JSON={"a": 1}"#, "EMPTY=", #"PLAIN=a "b" c"#])
            let error = failure { _ = try parse("command = /bin/true\nenv = A=\"open\n", in: scratch) }
            #expect(error?.message.hasSuffix(":2: bad value for env: unterminated \" quote") == true, "\(String(describing: error))")
        }
    }

    @Test func shellKeepsTheLineAsWritten() throws {
        try withScratch("conf-shell") { scratch throws in
            let (c, _, _) = try parse("shell = yes\ncommand = exec /bin/echo \"$HOME\" | tr a b  # not for sh\n", in: scratch)
            #expect(c.shell)
            #expect(c.argv == ["/bin/sh", "-c", #"exec /bin/echo "$HOME" | tr a b"#])
            let (plain, _, _) = try parse("command = /bin/echo \"$HOME\"\n", in: scratch)
            #expect(plain.argv == ["/bin/echo", "$HOME"], "no expansion without shell")
        }
    }

    @Test func crlfLinesAndAByteOrderMark() throws {
        try withScratch("conf-crlf") { scratch throws in
            let (c, origins, path) = try parse("\u{FEFF}command = /bin/sleep 100\r\n# comment\r\nrestart = no\r\n", in: scratch)
            #expect(c.command == ["/bin/sleep", "100"])
            #expect(c.restart == .no)
            #expect(origins["restart"] == "\(path):3")
        }
    }

    @Test(arguments: [
        ("stop-timout = 3s", 4, "unknown key 'stop-timout' (did you mean 'stop-timeout'?)"),
        ("Restart = no", 4, "unknown key 'Restart' (did you mean 'restart'?)"),
        ("frobnicate = 1", 4, "unknown key 'frobnicate'"),
        ("clear-env", 4, "expected 'key = value', got 'clear-env' (write 'clear-env = yes')"),
        ("chdir /tmp", 4, "expected 'key = value', got 'chdir /tmp'"),
        ("= 3", 4, "missing key before '='"),
        ("shell =", 4, "bad value for shell: '' (expected yes or no)"),
        ("restart = no\nrestart = always", 5, "restart is already set at line 4"),
        ("command = /bin/false", 4, "command is already set at line 1"),
    ])
    func errorsNameTheLineAndWhatIsWrong(_ text: String, _ line: Int, _ message: String) throws {
        try withScratch("conf-error") { scratch throws in
            let error = failure { _ = try parse("command = /bin/true\n\n# comment\n\(text)\n", in: scratch) }
            #expect(error?.message == "\(scratch.file("x.conf")):\(line): \(message)", "\(String(describing: error))")
            #expect(error?.code == 6)
        }
    }

    @Test func listKeysAccumulateAndOtherKeysAreSetOnce() throws {
        try withScratch("conf-lists") { scratch throws in
            let (c, origins, path) = try parse("command = /bin/true\nwatch = /a\nenv = A=1\nwatch = b\nenv = A=2\n", in: scratch)
            #expect(c.environment == ["A=1", "A=2"])
            #expect(c.watch == ["/a", "b"])
            #expect(origins["watch"] == "\(path):2, \(path):4")
        }
    }

    @Test func notAConfigFile() throws {
        try withScratch("conf-binary") { scratch throws in
            let path = scratch.file("x.conf")
            var configuration = ServiceConfiguration(name: ServiceName("x")!)
            var origins: [String: String] = [:]
            func attempt() -> ServiceError? { failure { try ConfigurationFile.apply(path, to: &configuration, origins: &origins) } }

            try FileSystem.writeAtomically(path, Array("command = /bin/true\n".utf8) + [0])
            #expect(attempt()?.message == "\(path): holds NUL bytes (not a config file)")
            // A value is bytes, UTF-8 or not, taken as they are.
            try FileSystem.writeAtomically(path, Array("command = /bin/true\nenv = A=".utf8) + [0xff, 0xfe])
            #expect(attempt() == nil)
            #expect(configuration.environment.last?.platformBytes == Array("A=".utf8) + [0xff, 0xfe])
            try FileSystem.writeAtomically(path, [UInt8](repeating: UInt8(ascii: "#"), count: (1 << 20) + 1))
            #expect(attempt()?.message == "\(path): longer than 1 MiB (not a config file)")
            try FileSystem.remove(path)
            symlink("/etc/hostname", path)
            let symlinked = attempt()
            #expect(symlinked?.code == 6)
            #expect(symlinked?.message.contains(path) == true, "\(String(describing: symlinked))")
            try FileSystem.remove(path)
            mkdir(path, 0o755)
            #expect(attempt()?.message.contains("Is a directory") == true)
        }
    }

    @Test func commandLineOptionsGoOnTop() throws {
        try withScratch("conf-loader") { scratch throws in
            let paths = ServicePaths(runDirectory: scratch.file("run"), logDirectory: scratch.file("log"), configDirectory: scratch.path)
            try FileSystem.writeAtomically(scratch.file("web.conf"), Array("""
                command = /bin/sleep 100
                restart = always
                env = A=1
                watch = conf.d
                chdir = /etc
                """.utf8))
            let loaded = try ConfigurationLoader.load(ServiceName("web")!, paths: paths, command: nil, options: [
                ("restart", "no"), ("env", "B=2"), ("log", "relative.log"), ("no-supervise", "no"),
            ])
            let c = loaded.configuration
            let file = scratch.file("web.conf")
            #expect(c.source == .configFile(file))
            #expect(c.command == ["/bin/sleep", "100"])
            #expect(c.restart == .no)
            #expect(c.environment == ["A=1", "B=2"])
            #expect(c.watch == ["/etc/conf.d"], "relative watch paths are taken against chdir")
            #expect(c.log == .file(Path.join(Path.currentDirectory(), "relative.log")), "a log on the command line is made absolute at once")
            #expect(loaded.origins["restart"] == "command line")
            #expect(loaded.origins["env"] == "\(file):3, command line")
            #expect(loaded.origins["chdir"] == "\(file):5")
            #expect(loaded.origins["umask"] == nil)

            // A bad option value is a usage error (2), naming the option.
            let bad = failure { _ = try ConfigurationLoader.load(ServiceName("web")!, paths: paths, command: nil, options: [("restart", "maybe")]) }
            #expect(bad == ServiceError("bad value for --restart: 'maybe' (expected no, on-failure or always)", code: 2))

            // A command after -- leaves the file alone.
            let given = try ConfigurationLoader.load(ServiceName("web")!, paths: paths, command: ["/bin/true"], options: [])
            #expect(given.configuration.source == .arguments)
            #expect(given.configuration.restart == .onFailure)

            // A file without a command.
            try FileSystem.writeAtomically(scratch.file("empty.conf"), Array("restart = no\n".utf8))
            let empty = failure { _ = try ConfigurationLoader.load(ServiceName("empty")!, paths: paths, command: nil, options: []) }
            #expect(empty == ServiceError("\(scratch.file("empty.conf")): no command (add 'command = ...')", code: 6))
        }
    }
}
