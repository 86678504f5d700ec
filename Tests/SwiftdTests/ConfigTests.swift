import Glibc
import Daemonize
import TestSupport
import Testing

/// Services from `NAME.conf`, and from PATH: start, check, overrides, errors.
@Suite(.hangLimit) struct ConfigTests {
    /// Writes `NAME.conf` into the harness's config dir.
    func writeConfig(_ h: Harness, _ name: String, _ text: String) throws {
        try FileSystem.makeDirectories(h.configDirectory, mode: 0o755)
        try FileSystem.writeAtomically(Path.join(h.configDirectory, "\(name).conf"), Array(text.utf8))
    }

    @Test func startReadsTheConfigFile() throws {
        try withHarness("conf-start") { h throws in
            let describe = h.scratch.file("describe")
            try writeConfig(h, "web", """
                # A service from its config file.
                command = \(h.fixturePath) service --describe '\(describe)' --print 2   # the fixture
                chdir = \(h.scratch.path)
                umask = 027
                env = GREETING=hello world
                env = "\(h.scratch.mark)"
                clear-env = yes
                restart = always
                """)
            let start = try h.swiftd(["start", "web"])
            #expect(start.code == 0, "\(start)")
            let pid = try #require(h.pid("web"))
            #expect(start.stdout == "web started (pid \(pid))\n")
            let values = keyValues(h.text("describe"))
            #expect(values["cwd"] == h.scratch.path)
            #expect(values["umask"] == "27")
            #expect(values["env"] == "GREETING=hello world\u{1}\(h.scratch.mark)")
            let state = try #require(h.state("web"))
            #expect(state.configuration.source == .configFile(Path.join(h.configDirectory, "web.conf")))
            #expect(state.configuration.command == [h.fixturePath, "service", "--describe", describe, "--print", "2"])
            #expect(state.configuration.restart == .always)
            #expect(h.log("web").contains("line 2 of 2"))
            #expect(try h.swiftd(["stop", "web"]).code == 0)
        }
    }

    /// The quotes around an env value are not part of it, as in a shell or a systemd unit.
    @Test func quotedEnvValueReachesTheServiceWithoutItsQuotes() throws {
        try withHarness("conf-env-quotes") { h throws in
            let describe = h.scratch.file("describe")
            try writeConfig(h, "web", """
                command = \(h.fixturePath) service --describe '\(describe)'
                env = GREETING="hello world"
                env = MOTD=' # welcome '
                """)
            #expect(try h.swiftd(["start", "web"]).code == 0)
            let env = (keyValues(h.text("describe"))["env"] ?? "").split(separator: "\u{1}")
            #expect(env.contains("GREETING=hello world"), "\(env)")
            #expect(env.contains("MOTD= # welcome "), "\(env)")
            #expect(try h.swiftd(["stop", "web"]).code == 0)
        }
    }

    @Test func commandLineOptionsOverrideTheFile() throws {
        try withHarness("conf-override") { h throws in
            let describe = h.scratch.file("describe")
            try writeConfig(h, "web", """
                command = \(h.fixturePath) service --describe \(describe)
                chdir = /
                umask = 077
                env = A=from-file
                env = B=from-file
                """)
            let start = try h.swiftd(["start", "web", "--chdir", h.scratch.path, "--env", "B=from-command-line", "--restart", "no"])
            #expect(start.code == 0, "\(start)")
            let values = keyValues(h.text("describe"))
            #expect(values["cwd"] == h.scratch.path)
            #expect(values["umask"] == "77", "not overridden: from the file")
            let env = (values["env"] ?? "").split(separator: "\u{1}")
            #expect(env.contains("A=from-file"))
            #expect(env.contains("B=from-command-line"))
            #expect(!env.contains("B=from-file"))
            #expect(h.state("web")?.configuration.restart == ServiceConfiguration.RestartPolicy.no)
        }
    }

    @Test func badConfigIsSixWithTheLineAndNothingStarts() throws {
        try withHarness("conf-bad") { h throws in
            try writeConfig(h, "web", """
                command = \(h.fixturePath) service

                # the next line is misspelt
                stop-timout = 5s
                """)
            let file = Path.join(h.configDirectory, "web.conf")
            for command in ["start", "run", "check", "restart"] {
                let result = try h.swiftd([command, "web"])
                #expect(result.code == 6, "\(command): \(result)")
                #expect(result.stderr == "swiftd: \(file):4: unknown key 'stop-timout' (did you mean 'stop-timeout'?)\n", "\(command): \(result)")
                #expect(result.stdout.isEmpty)
            }
            try writeConfig(h, "web", "command = \(h.fixturePath) service\nrestart = sometimes\n")
            let badValue = try h.swiftd(["start", "web"])
            #expect(badValue.code == 6)
            #expect(badValue.stderr == "swiftd: \(file):2: bad value for restart: 'sometimes' (expected no, on-failure or always)\n", "\(badValue)")
            #expect(h.scratch.markedProcesses().isEmpty)
            #expect(!FileSystem.exists(h.runDirectory), "nothing is created")
            #expect(!FileSystem.exists(h.logDirectory))
        }
    }

    @Test func unknownUserInAFileIsSixNamingTheFile() throws {
        try withHarness("conf-user") { h throws in
            try writeConfig(h, "web", "command = \(h.fixturePath) service\nuser = no-such-user-swiftd\n")
            let file = Path.join(h.configDirectory, "web.conf")
            for command in ["start", "check"] {
                let result = try h.swiftd([command, "web"])
                #expect(result.code == 6, "\(command): \(result)")
                #expect(result.stderr == "swiftd: \(file): unknown user 'no-such-user-swiftd'\n", "\(command): \(result)")
            }
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func invalidCombinationInAFileIsSix() throws {
        try withHarness("conf-combination") { h throws in
            try writeConfig(h, "web", "command = \(h.fixturePath) service\nno-supervise = yes\nwatch = /etc/hostname\n")
            for command in ["start", "check"] {
                let result = try h.swiftd([command, "web"])
                #expect(result.code == 6, "\(command): \(result)")
                #expect(result.stderr.contains("watch needs the supervisor"), "\(result)")
            }
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func checkPrintsEveryEffectiveSettingAndItsOrigin() throws {
        try withHarness("conf-check") { h throws in
            try writeConfig(h, "web", """
                command = \(h.fixturePath) service --print 'two words'
                env = A=1
                stop-timeout = 3s
                """)
            let file = Path.join(h.configDirectory, "web.conf")
            let check = try h.swiftd(["check", "web", "--env", "B=2", "--restart", "always"])
            #expect(check.code == 0, "\(check)")
            let lines = check.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "# web: config:\(file)")
            #expect(lines.count == ServiceConfiguration.keys.count + 1, "\(check)")
            for key in ServiceConfiguration.keys {
                #expect(lines.contains { $0.hasPrefix("\(key.name) = ") }, "check prints \(key.name)")
            }
            #expect(lines.contains("command = \(h.fixturePath) service --print 'two words'  # \(file):1"))
            #expect(lines.contains("env = A=1 B=2  # \(file):2, command line"))
            #expect(lines.contains("stop-timeout = 3s  # \(file):3"))
            #expect(lines.contains("restart = always  # command line"))
            #expect(lines.contains("umask = 022  # default"))
            #expect(lines.contains("log = \(h.logFile("web"))  # default"))
            #expect(h.scratch.markedProcesses().isEmpty, "check starts nothing")
            #expect(!FileSystem.exists(h.runDirectory))
        }
    }

    @Test func checkFailsForACommandThatDoesNotExist() throws {
        try withHarness("conf-check-missing") { h throws in
            try writeConfig(h, "web", "command = /nonexistent/swiftd-test-daemon --flag\n")
            let check = try h.swiftd(["check", "web"])
            #expect(check.code == 6, "\(check)")
            #expect(check.stderr.contains("/nonexistent/swiftd-test-daemon"), "\(check)")
        }
    }

    @Test func shellRunsTheCommandThroughSh() throws {
        try withHarness("conf-shell") { h throws in
            try writeConfig(h, "sh", """
                shell = yes
                env = TARGET=\(h.scratch.path)
                command = exec \(h.fixturePath) service --describe "$TARGET/described"
                """)
            try writeConfig(h, "plain", """
                env = TARGET=\(h.scratch.path)
                command = \(h.fixturePath) service --stamp "$TARGET/stamp" --describe \(h.scratch.file("plain"))
                chdir = \(h.scratch.path)
                """)
            #expect(try h.swiftd(["start", "sh"]).code == 0)
            #expect(keyValues(h.text("described"))["pid"] == h.pid("sh").map(String.init), "sh expanded $TARGET and exec'd the fixture")
            #expect(try h.swiftd(["start", "plain"]).code == 0)
            #expect(h.state("plain")?.configuration.command.contains("$TARGET/stamp") == true, "no expansion without shell")
            #expect(FileSystem.exists(h.scratch.file("plain")))
            #expect(!FileSystem.exists(h.scratch.file("stamp")))
        }
    }

    @Test func restartRereadsTheConfigFile() throws {
        try withHarness("conf-restart") { h throws in
            let describe = h.scratch.file("describe")
            try writeConfig(h, "web", "command = \(h.fixturePath) service --describe \(describe)\nenv = VERSION=1\n")
            #expect(try h.swiftd(["start", "web", "--env", "FROM=start"]).code == 0)
            #expect(keyValues(h.text("describe"))["env"]?.contains("VERSION=1") == true)
            try writeConfig(h, "web", "command = \(h.fixturePath) service --describe \(describe)\nenv = VERSION=2\n")
            let restart = try h.swiftd(["restart", "web", "--env", "FROM=restart"])
            #expect(restart.code == 0, "\(restart)")
            #expect(keyValues(h.text("describe"))["env"]?.contains("VERSION=2") == true)
            #expect(keyValues(h.text("describe"))["pid"] == h.pid("web").map(String.init))
            // The options of the start still apply after the file, the restart's after them.
            let env = keyValues(h.text("describe"))["env"] ?? ""
            #expect(env.hasSuffix("FROM=restart"), "\(env)")
            #expect(try h.swiftd(["restart", "web"]).code == 0)
            #expect(keyValues(h.text("describe"))["env"]?.hasSuffix("FROM=restart") == true, "options survive a second restart")
        }
    }

    /// A directory holding an executable `name` that execs the fixture as a service.
    func binDirectory(_ h: Harness, _ name: String, marker: String) throws -> String {
        let bin = h.scratch.file("bin")
        try FileSystem.makeDirectories(bin, mode: 0o755)
        let script = "#!/bin/sh\nexec \(h.fixturePath) service --describe \(h.scratch.file(marker))\n"
        try FileSystem.writeAtomically(Path.join(bin, name), Array(script.utf8), mode: 0o755)
        return bin
    }

    @Test func startWithoutCommandFindsTheNameInPath() throws {
        try withHarness("conf-path") { h throws in
            let bin = try binDirectory(h, "myservice", marker: "from-path")
            let env = Environment.setting("PATH", to: bin + ":" + (Environment.value("PATH") ?? "/usr/bin:/bin"), in: h.scratch.environment)
            let start = try h.swiftd(["start", "myservice"], environment: env)
            #expect(start.code == 0, "\(start)")
            #expect(h.state("myservice")?.configuration.source == .searchPath)
            #expect(h.state("myservice")?.configuration.command == ["myservice"])
            #expect(FileSystem.exists(h.scratch.file("from-path")))
            #expect(try h.swiftd(["status", "myservice"], environment: env).code == 0)
            let check = try h.swiftd(["check", "myservice"], environment: env)
            // Once it has run, the recorded command comes before PATH (main's e44a69d: a service configured
            // nowhere starts again with the command it last ran with).
            #expect(check.stdout.contains("command = myservice  # recorded state\n"), "\(check)")
            #expect(try h.swiftd(["stop", "myservice"], environment: env).code == 0)
            #expect(try h.swiftd(["status", "myservice"], environment: env).code == 3)
        }
    }

    @Test func theConfigFileComesBeforePath() throws {
        try withHarness("conf-first") { h throws in
            let bin = try binDirectory(h, "myservice", marker: "from-path")
            let env = Environment.setting("PATH", to: bin + ":" + (Environment.value("PATH") ?? "/usr/bin:/bin"), in: h.scratch.environment)
            try writeConfig(h, "myservice", "command = \(h.fixturePath) service --describe \(h.scratch.file("from-conf"))\n")
            let start = try h.swiftd(["start", "myservice"], environment: env)
            #expect(start.code == 0, "\(start)")
            #expect(FileSystem.exists(h.scratch.file("from-conf")))
            #expect(!FileSystem.exists(h.scratch.file("from-path")))
        }
    }

    @Test func neitherConfigNorPathIsSix() throws {
        try withHarness("conf-none") { h throws in
            let result = try h.swiftd(["start", "no-such-service-swiftd"])
            #expect(result.code == 6, "\(result)")
            #expect(result.stderr == "swiftd: no-such-service-swiftd is not configured: no \(Path.join(h.configDirectory, "no-such-service-swiftd.conf")), no 'no-such-service-swiftd' in PATH, and no command after --\n")
            #expect(!FileSystem.exists(h.runDirectory))
        }
    }

    @Test func aRelativeLogOnTheCommandLineIsFoundFromAnywhere() throws {
        try withHarness("conf-log") { h throws in
            // swiftd started from the scratch directory, logs read from /.
            let directories = h.directoryOptions.map(CommandWords.quote).joined(separator: " ")
            let script = "cd \(CommandWords.quote(h.scratch.path)) && exec \(h.swiftdPath) start web --log relative.log \(directories) -- \(h.fixturePath) service --print 1"
            let start = try run("/bin/sh", ["-c", script], environment: h.scratch.environment)
            #expect(start.code == 0, "\(start)")
            #expect(h.state("web")?.configuration.log == .file(h.scratch.file("relative.log")))
            #expect(eventually { h.text("relative.log").contains("line 1 of 1") })
            let logs = try h.swiftd(["logs", "web"])
            #expect(logs.code == 0, "\(logs)")
            #expect(logs.stdout.hasSuffix("line 1 of 1\n"), "\(logs)")
        }
    }
}
