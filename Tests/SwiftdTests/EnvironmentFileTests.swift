import Glibc
import Daemonize
import TestSupport
import Testing

/// `--env-file`: read at start (and by restart) before anything starts, seen
/// in /proc/PID/environ of the service, in both modes.
@Suite(.hangLimit) struct EnvironmentFileTests {
    static let modes: [[String]] = [[], ["--no-supervise"]]

    /// The service's environment as a dictionary.
    func environment(_ pid: pid_t) -> [String: String] {
        var result: [String: String] = [:]
        for entry in ProcFS.environment(pid) {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            result[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
        }
        return result
    }

    func write(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
        try FileSystem.writeAtomically(path, Array(text.utf8), mode: mode)
    }

    @Test(arguments: modes) func filesAreReadAtStartAndAgainByRestart(_ mode: [String]) throws {
        try withHarness("env-file") { h throws in
            let file = h.scratch.file("web.env")
            try write(file, """
                # Debian's /etc/default style
                export GREETING="hello world"
                MOTD='it''s $HOME'
                OVERRIDE=from-file
                MULTI="one
                two"
                """)
            let second = h.scratch.file("second.env")
            try write(second, "OVERRIDE=from-second\nSECOND=yes\n")
            let start = try h.startService("e", mode + ["--env-file", file, "--env-file", "-" + h.scratch.file("missing.env"),
                                                        "--env-file", second, "--env", "WINS=from-env"])
            #expect(start.code == 0, "\(start)")
            let pid = try #require(h.pid("e"))
            let env = environment(pid)
            #expect(env["GREETING"] == "hello world")
            #expect(env["MOTD"] == "its $HOME")
            #expect(env["MULTI"] == "one\ntwo")
            #expect(env["OVERRIDE"] == "from-second", "a later file wins")
            #expect(env["SECOND"] == "yes")
            #expect(env["WINS"] == "from-env")
            #expect(env["SWIFTD_TEST_MARK"] == h.scratch.path, "the rest is swiftd's own")

            try write(file, "GREETING=changed\nWINS=from-file\n")
            let restart = try h.swiftd(["restart", "e"])
            #expect(restart.code == 0, "\(restart)")
            let again = try #require(h.pid("e"))
            #expect(again != pid)
            #expect(environment(again)["GREETING"] == "changed", "restart reads the file again")
            #expect(environment(again)["WINS"] == "from-env", "--env wins over a file")
            #expect(environment(again)["MULTI"] == nil)
            #expect(try h.swiftd(["stop", "e"]).code == 0)
        }
    }

    @Test func aConfigFileNamesItsEnvironmentFiles() throws {
        try withHarness("env-file-conf") { h throws in
            let file = h.scratch.file("default-web")
            try write(file, "PORT=8080\n")
            try h.writeConfig("web", """
                command = \(h.fixturePath) service
                env-file = -/nonexistent/default/web
                env-file = \(file)
                env = PORT="9090"
                env = HOST=localhost
                """)
            #expect(try h.swiftd(["start", "web"]).code == 0)
            let env = environment(try #require(h.pid("web")))
            #expect(env["PORT"] == "9090")
            #expect(env["HOST"] == "localhost")
            let check = try h.swiftd(["check", "web"])
            #expect(check.code == 0, "\(check)")
            #expect(check.stdout.contains("env-file = -/nonexistent/default/web \(file)  # "), "\(check)")
            #expect(try h.swiftd(["stop", "web"]).code == 0)
        }
    }

    @Test func badFilesAreRefusedBeforeAnythingStarts() throws {
        try withHarness("env-file-bad") { h throws in
            let missing = h.scratch.file("missing.env")
            let malformed = h.scratch.file("malformed.env")
            try write(malformed, "A=1\n# fine\noops\n")
            let quote = h.scratch.file("quote.env")
            try write(quote, "A=1\nB=\"open\nC=2\n")
            let shared = h.scratch.file("shared.env")
            try write(shared, "A=1\n", mode: 0o666)
            let link = h.scratch.file("link.env")
            #expect(symlink(malformed, link) == 0)
            let cases: [(String, String)] = [
                (missing, "env file \(missing): No such file or directory"),
                (malformed, "env file \(malformed):3: expected NAME=VALUE, got 'oops'"),
                (quote, "env file \(quote):2: unterminated \" quote"),
                (shared, "env file \(shared): writable by group or others (refused)"),
                (link, "env file \(link): is a symbolic link (refused)"),
            ]
            for (file, message) in cases {
                let option = try h.startService("e", ["--env-file", file])
                #expect(option.code == 2, "\(option)")
                #expect(option.stderr == "swiftd: \(message)\n", "\(option)")
                try h.writeConfig("e", "command = \(h.fixturePath) service\nenv-file = \(file)\n")
                let conf = try h.swiftd(["start", "e"])
                #expect(conf.code == 6, "\(conf)")
                #expect(conf.stderr == "swiftd: \(message)\n", "\(conf)")
                let check = try h.swiftd(["check", "e"])
                #expect(check.code == 6, "\(check)")
                try FileSystem.remove(Path.join(h.configDirectory, "e.conf"))
            }
            #expect(h.scratch.markedProcesses().isEmpty)
            #expect(!FileSystem.exists(h.pidFile("e")))
            #expect(!FileSystem.exists(Path.join(h.runDirectory, "e.state")))
        }
    }
}
