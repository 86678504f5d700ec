import Glibc
import Daemonize
import TestSupport
import Testing

/// Arguments, environment values and paths are bytes: a command gets exactly
/// the bytes it was given, every one from 0x01 to 0xFF, UTF-8 or not, through
/// `start`, NAME.state, `restart`, a later `start` and `run`, from the command
/// line, the inherited environment, an env file and a config file; its
/// working directory, log file and its own path hold them too. The fixture's
/// `bytes` mode writes what it got as hex, with C calls on bytes (no Swift
/// String between the kernel and the file); what is expected is spelled out
/// here as bytes.
@Suite(.hangLimit) struct BytesTests {
    /// Every byte but NUL.
    static let all = [UInt8](1...255)
    /// Every byte a file name may hold (all but "/").
    static let name = all.filter { $0 != UInt8(ascii: "/") }
    /// More arguments: a Latin-1 name; CR LF (one Swift Character), "=" and a
    /// combining mark, the UTF-8 of U+10FFE9 (a scalar swiftd holds a byte
    /// that is not UTF-8 as) and the text "\xe9" (how NAME.state writes one).
    static let others: [[UInt8]] = [
        Array("caf".utf8) + [0xE9] + Array(".txt".utf8),
        [0x0D, 0x0A, 0x3D, 0xCC, 0x81, 0xF4, 0x8F, 0xBF, 0xA9] + Array("\\xe9".utf8),
    ]
    static let slash = UInt8(ascii: "/")

    func text(_ bytes: [UInt8]) -> String { String(platformBytes: bytes) }
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// What the fixture wrote.
    struct Dump {
        var pid: pid_t?
        var args: [[UInt8]] = []
        var env: [[UInt8]] = []
        var cwd: [UInt8] = []
        var exe: [UInt8] = []
    }

    func dump(_ path: String) -> Dump? {
        guard let content = try? FileSystem.read(path, limit: 1 << 22) else { return nil }
        var dump = Dump()
        for line in content.split(separator: 10) {
            let words = line.split(separator: 32, maxSplits: 1)
            let key = String(decoding: words[0], as: UTF8.self)
            let value = words.count > 1 ? Array(words[1]) : []
            if key == "pid" { dump.pid = pid_t(String(decoding: value, as: UTF8.self)); continue }
            var raw: [UInt8] = []
            var i = 0
            while i + 1 < value.count, let byte = UInt8(String(decoding: value[i...(i + 1)], as: UTF8.self), radix: 16) {
                raw.append(byte)
                i += 2
            }
            switch key {
            case "arg": dump.args.append(raw)
            case "env": dump.env.append(raw)
            case "cwd": dump.cwd = raw
            case "exe": dump.exe = raw
            default: break
            }
        }
        return dump
    }

    /// Waits for the dump of the process with pid `pid` (any pid when nil).
    func dump(_ path: String, of pid: () -> pid_t?) -> Dump? {
        var found: Dump?
        eventually {
            found = dump(path)
            return found?.pid != nil && found?.pid == pid()
        }
        return found
    }

    /// Where two byte strings first differ, for a failure message.
    func difference(_ got: [UInt8], _ wanted: [UInt8]) -> String {
        let same = zip(got, wanted).prefix { $0 == $1 }.count
        return "\(got.count) bytes, \(wanted.count) wanted; first difference at \(same): got \(got.dropFirst(same).prefix(8).map { $0 }), wanted \(wanted.dropFirst(same).prefix(8).map { $0 })"
    }

    /// A directory named `name` in the scratch dir, holding `p` (a symlink
    /// to the fixture) and `env`, an env file that sets SWIFTD_TEST_ENVFILE to
    /// every byte (double quotes: `"` and `\` escaped, a newline kept).
    func world(_ h: Harness, _ name: [UInt8]) throws -> [UInt8] {
        let directory = bytes(h.scratch.path) + [Self.slash] + name
        try FileSystem.makeDirectory(text(directory), mode: 0o755)
        #expect(text(directory + bytes("/p")).withPlatformString { symlink(h.fixturePath, $0) } == 0)
        var file = bytes("SWIFTD_TEST_ENVFILE=\"")
        for byte in Self.all {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { file.append(UInt8(ascii: "\\")) }
            file.append(byte)
        }
        try FileSystem.writeAtomically(text(directory + bytes("/env")), file + bytes("\"\n"))
        return directory
    }

    /// The fixture's dump says it got `arguments` after `program bytes DUMP
    /// MODE`, ran in `directory` from `program`, with `environment` among its entries.
    func check(_ dump: Dump?, program: [UInt8], _ rest: [[UInt8]], directory: [UInt8], environment: [[UInt8]]) {
        guard let dump else { Issue.record("no dump"); return }
        let wanted = [program, bytes("bytes")] + rest
        #expect(dump.args.count == wanted.count, "\(dump.args.count) arguments, \(wanted.count) wanted")
        for (got, expected) in zip(dump.args, wanted) { #expect(got == expected, "argument: \(difference(got, expected))") }
        #expect(dump.cwd == directory, "cwd: \(difference(dump.cwd, directory))")
        #expect(dump.exe == program, "exe: \(difference(dump.exe, program))")
        for entry in environment {
            #expect(dump.env.contains(entry), "no \(String(decoding: entry.prefix(24), as: UTF8.self))... of \(entry.count) bytes in \(dump.env.count) entries")
        }
    }

    /// How `logs` shows bytes none of which begins valid multi-byte UTF-8
    /// here: newline, tab and printable ASCII as they are, the rest `\xNN`.
    func shown(_ bytes: [UInt8]) -> String {
        bytes.map { b in
            b == 9 || b == 10 || (b >= 0x20 && b < 0x7f) ? String(UnicodeScalar(b)) : "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
        }.joined()
    }

    @Test func everyByteReachesTheServiceThroughStartRestartAndALaterStart() throws {
        try withHarness("bytes") { h throws in
            let directory = try world(h, Self.name)
            let program = directory + bytes("/p")
            let file = h.scratch.file("dump")
            let arguments = [Self.all] + Self.others
            let inherited = bytes("SWIFTD_TEST_INHERITED=") + Self.all, option = bytes("SWIFTD_TEST_OPTION=") + Self.all
            let environment = h.scratch.environment + [text(inherited)]
            let entries = [inherited, option, bytes("SWIFTD_TEST_ENVFILE=") + Self.all]
            let log = directory + bytes("/log")
            let start = try h.swiftd(["start", "b", "--chdir", text(directory), "--log", text(log), "--env", text(option),
                                      "--env-file", text(directory + bytes("/env")), "--", text(program), "bytes", file, "stay"]
                                     + arguments.map(text), environment: environment)
            #expect(start.code == 0, "\(start)")
            let rest = [bytes(file), bytes("stay")] + arguments
            check(dump(file) { h.pid("b") }, program: program, rest, directory: directory, environment: entries)
            #expect(h.state("b")?.configuration.command.map(\.platformBytes) == [program, bytes("bytes")] + rest, "the record holds the bytes")

            // Shown to people escaped; to JSON as surrogate escapes (Python's os.fsencode gives the bytes back).
            let status = try h.swiftd(["status", "b"])
            #expect(status.code == 0 && status.stdout.hasPrefix("b: running (pid"), "\(status)")
            let list = try h.swiftd(["list"])
            #expect(list.code == 0 && list.stdout.contains("'caf\\xe9.txt'") && !list.stdout.contains("\u{FFFD}"), "\(list)")
            let json = try h.swiftd(["status", "b", "--json"])
            #expect(json.stdout.contains("\"caf\\udce9.txt\""), "\(json)")
            // The log holds what the service printed, byte for byte; `logs` shows it escaped.
            #expect(eventually { ((try? FileSystem.read(text(log))) ?? []).count > Self.all.count }, "the log at its path")
            let logged = (try? FileSystem.read(text(log))) ?? []
            #expect(logged.firstRange(of: Self.all + [10]) != nil, "every byte in the log file")
            let logs = try h.swiftd(["logs", "b", "-n", "100"])
            #expect(logs.code == 0 && logs.stdout.contains(shown(Self.all)), "\(logs)")

            // restart and a later start (with no command: the recorded one) run the same bytes.
            let first = h.pid("b")
            let restart = try h.swiftd(["restart", "b"], environment: environment)
            #expect(restart.code == 0, "\(restart)")
            check(dump(file) { h.pid("b").flatMap { $0 == first ? nil : $0 } }, program: program, rest, directory: directory, environment: entries)
            #expect(try h.swiftd(["stop", "b"]).code == 0)
            let again = try h.swiftd(["start", "b"], environment: environment)
            #expect(again.code == 0, "\(again)")
            check(dump(file) { h.pid("b") }, program: program, rest, directory: directory, environment: entries)
            #expect(try h.swiftd(["stop", "b"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func runPassesEveryByteAndPrintsWhatTheServicePrintsAsItIs() throws {
        try withHarness("bytes-run") { h throws in
            let directory = try world(h, Self.name)
            let program = directory + bytes("/p")
            let file = h.scratch.file("dump")
            let arguments = [Self.all] + Self.others
            let inherited = bytes("SWIFTD_TEST_INHERITED=") + Self.all, option = bytes("SWIFTD_TEST_OPTION=") + Self.all
            let run = try h.swiftd(["run", "r", "--chdir", text(directory), "--env", text(option), "--env-file", text(directory + bytes("/env")),
                                    "--", text(program), "bytes", file, "exit"] + arguments.map(text),
                                   environment: h.scratch.environment + [text(inherited)])
            #expect(run.code == 0, "\(run)")
            #expect(run.stdoutBytes == arguments.flatMap { $0 + [10] }, "standard output: \(difference(run.stdoutBytes, arguments.flatMap { $0 + [10] }))")
            check(dump(file), program: program, [bytes(file), bytes("exit")] + arguments, directory: directory,
                  environment: [inherited, option, bytes("SWIFTD_TEST_ENVFILE=") + Self.all])
        }
    }

    /// `--watch`: a watched directory whose name holds every byte, and in it a
    /// file whose name does, one whose name begins with a combining mark
    /// (which fuses with the "/" before it into one Swift Character), and two
    /// whose names are canonically equivalent ("é" as one scalar and as "e"
    /// and U+0301: one String to Swift's ==, two files to the kernel): a
    /// change to any one's content restarts the service.
    @Test func aChangeToAWatchedFileIsSeenWhateverBytesItsNameHolds() throws {
        try withHarness("bytes-watch") { h throws in
            let tree = bytes(h.scratch.path) + [Self.slash] + Self.name
            try FileSystem.makeDirectory(text(tree), mode: 0o755)
            let names = [Self.name, [0xCC, 0x81] + bytes("accent"), bytes("caf") + [0xC3, 0xA9], bytes("cafe") + [0xCC, 0x81]]
            for name in names {
                let fd = try FileDescriptor.open(text(tree + [Self.slash] + name), O_WRONLY | O_CREAT | O_EXCL)
                try fd.writeAll(bytes("one\n"))
                fd.close()
            }
            let start = try h.startService("w", ["--watch", text(tree)])
            #expect(start.code == 0, "\(start)")
            for name in names {
                let before = h.pid("w")
                let file = tree + [Self.slash] + name
                let fd = try FileDescriptor.open(text(file), O_WRONLY | O_TRUNC)
                try fd.writeAll(bytes("changed \(name.count)\n"))
                fd.close()
                #expect(eventually { h.pid("w").map { $0 != before } ?? false }, "restarted for \(String(decoding: name.suffix(6), as: UTF8.self)): \(h.log("w"))")
            }
            #expect(try h.swiftd(["stop", "w"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// `--pidfile` at a path that holds every byte: the daemon it names is adopted.
    @Test func aPidfileWhosePathHoldsEveryByte() throws {
        try withHarness("bytes-pidfile") { h throws in
            let directory = try world(h, Self.name)
            let pidfile = directory + bytes("/daemon.pid")
            let start = try h.swiftd(["start", "d", "--pidfile", text(pidfile), "--", "/bin/sh", "-c", "sleep 1000 & echo $! > \"$1\"", "sh", text(pidfile)])
            #expect(start.code == 0, "\(start)")
            let daemon = (try? FileSystem.read(text(pidfile))).flatMap { PIDFile.parsePID($0) }
            #expect(daemon != nil && h.pid("d") == daemon, "the daemon named by the pidfile is the service")
            #expect(try h.swiftd(["stop", "d"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// `--chroot` at a path that holds every byte: the service's root and
    /// working directory are that very directory.
    @Test(.requires(.root)) func aChrootWhosePathHoldsEveryByte() throws {
        try withHarness("bytes-chroot") { h throws in
            let directory = try world(h, Self.name)
            let jail = directory + bytes("/jail")
            try FileSystem.rename(try Jail.make(h), to: text(jail))
            let jailed = try h.swiftd(["start", "j", "--chroot", text(jail), "--chdir", "/bin", "--", "sleep", "1000"])
            #expect(jailed.code == 0, "\(jailed)")
            let pid = try #require(h.pid("j"))
            #expect(link("/proc/\(pid)/root") == jail, "root: \(difference(link("/proc/\(pid)/root"), jail))")
            #expect(link("/proc/\(pid)/cwd") == jail + bytes("/bin"))
            #expect(try h.swiftd(["stop", "j"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// What a symlink (under /proc) points to, as bytes.
    func link(_ path: String) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBufferPointer { readlink(path, UnsafeMutableRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), 4096) }
        return n > 0 ? Array(buffer[..<n]) : []
    }

    /// A config file holds every byte but newline (a line ends there) in a
    /// value: in `command` (in double quotes), `env`, `chdir`, `log`, `env-file`.
    @Test func everyByteButNewlineReachesTheServiceFromAConfigFile() throws {
        try withHarness("bytes-conf") { h throws in
            let lineBytes = Self.all.filter { $0 != 10 }
            let directory = try world(h, Self.name.filter { $0 != 10 })
            let program = directory + bytes("/p")
            let file = h.scratch.file("dump")
            func quoted(_ word: [UInt8]) -> [UInt8] {
                bytes("\"") + word.flatMap { b in Array("\"\\$`".utf8).contains(b) ? [UInt8(ascii: "\\"), b] : [b] } + bytes("\"")
            }
            var conf = bytes("command = ") + quoted(program) + bytes(" bytes \(file) stay ") + quoted(lineBytes) + [10]
            conf += bytes("chdir = ") + directory + [10]
            conf += bytes("log = ") + directory + bytes("/log") + [10]
            conf += bytes("env = SWIFTD_TEST_CONFIG=") + lineBytes + [10]
            conf += bytes("env-file = ") + directory + bytes("/env") + [10]
            try FileSystem.makeDirectories(h.configDirectory, mode: 0o755)
            try FileSystem.writeAtomically(Path.join(h.configDirectory, "c.conf"), conf)
            let entries = [bytes("SWIFTD_TEST_CONFIG=") + lineBytes, bytes("SWIFTD_TEST_ENVFILE=") + Self.all]
            let start = try h.swiftd(["start", "c"])
            #expect(start.code == 0, "\(start)")
            let rest = [bytes(file), bytes("stay"), lineBytes]
            check(dump(file) { h.pid("c") }, program: program, rest, directory: directory, environment: entries)
            let first = h.pid("c")
            // restart reads the file again.
            let restart = try h.swiftd(["restart", "c"])
            #expect(restart.code == 0, "\(restart)")
            check(dump(file) { h.pid("c").flatMap { $0 == first ? nil : $0 } }, program: program, rest, directory: directory, environment: entries)
            let checked = try h.swiftd(["check", "c"])
            #expect(checked.code == 0 && checked.stdout.contains("chdir = \(h.scratch.path)/\\x01\\x02"), "\(checked)")
            #expect(try h.swiftd(["stop", "c"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }
}
