import Glibc
@testable import Daemonize
import TestSupport
import Testing

/// Pure parsing and formatting: no processes involved.
@Suite(.hangLimit) struct ValueTests {
    @Test func signalsParseByNameAndNumber() {
        #expect(ProcessSignal(parsing: "TERM") == .terminate)
        #expect(ProcessSignal(parsing: "SIGTERM") == .terminate)
        #expect(ProcessSignal(parsing: "term") == .terminate)
        #expect(ProcessSignal(parsing: "15") == .terminate)
        #expect(ProcessSignal(parsing: "9") == .kill)
        #expect(ProcessSignal(parsing: "HUP") == .hangup)
        #expect(ProcessSignal(parsing: "0") == nil)
        #expect(ProcessSignal(parsing: "65") == nil)
        #expect(ProcessSignal(parsing: "-1") == nil)
        #expect(ProcessSignal(parsing: "BOGUS") == nil)
        #expect(ProcessSignal(parsing: "") == nil)
        #expect(ProcessSignal(parsing: "SIG") == nil)
        #expect(ProcessSignal.terminate.name == "TERM")
        #expect(ProcessSignal(rawValue: 40).name == "40")
    }

    /// Found by Tests/Fuzz (ValueParsersFuzz): 90s printed as "1m30s", which
    /// the parser refuses, so a state file recording it could not be read.
    @Test func durationsPrintAsTheyParse() {
        #expect(Interval.seconds(90).description == "90s")
        #expect(Interval.seconds(5400).description == "90m")
        #expect(Interval.seconds(3600).description == "1h")
        #expect(Interval.milliseconds(1500).description == "1500ms")
        #expect(Interval(nanoseconds: 1_500).description == "1500ns")
        #expect(Interval.zero.description == "0")
        for text in ["90s", "232", "1.5s", "3601s", "25h", "1.000001s", "0.999999999d", "36500d", "7ns"] {
            let interval = Interval(parsing: text)
            #expect(interval != nil, "\(text)")
            #expect(interval.flatMap { Interval(parsing: $0.description) } == interval, "\(text)")
        }
    }

    /// Found by Tests/Fuzz (ValueParsersFuzz): twenty digits, or a long
    /// fraction of a large unit, overflowed Int64 and trapped (`swiftd stop
    /// NAME --timeout 11111111111111111111` crashed).
    @Test func durationsTooLongAreRefusedWithoutTrapping() {
        #expect(Interval(parsing: "1111111111111111111111") == nil)
        #expect(Interval(parsing: "9999999999999999999ns") == nil)
        #expect(Interval(parsing: "36501d") == nil)
        #expect(Interval(parsing: "36500d") == Interval(nanoseconds: Interval.maximum))
        #expect(Interval(parsing: "0.999999999d") == Interval(nanoseconds: 86_399_999_913_600))
        #expect(Interval(parsing: "1.123456789h") == Interval(nanoseconds: 4_044_444_440_400))
        #expect(Interval(parsing: "1.5ns") == Interval(nanoseconds: 1))
    }

    /// Found by Tests/Fuzz (ValueParsersFuzz): a word starting with a
    /// combining mark fused with the quote before it, so quoting did not
    /// split back into the same words.
    @Test func wordsWithCombiningMarksQuoteAndSplitBack() throws {
        let words = ["\u{301}", "'\u{301}", "a \u{301}", "\u{301}'", "e\u{301}"]
        #expect(try CommandWords.split(CommandWords.quote(words)) == words)
        #expect(try CommandWords.split("a '\u{301}' \\\u{301} \"\u{301}\"") == ["a", "\u{301}", "\u{301}", "\u{301}"])
        #expect(CommandWords.uncommented("a '\u{301}#' #\u{301} comment") == "a '\u{301}#'")
    }

    /// A file is read to its end: a regular file without the read that only
    /// says end of file, and one under /proc (whose size says 0, read in
    /// pieces shorter than asked) to its last piece.
    @Test func filesAreReadToTheirEnd() throws {
        let smaps = String(decoding: try FileSystem.read("/proc/self/smaps", limit: 1 << 24), as: UTF8.self)
        let mappings = smaps.split(separator: "\n").filter { $0.first.map { $0.isHexDigit } == true && $0.contains("-") }
        #expect(smaps.utf8.count > 16384 && smaps.hasSuffix("\n"), "\(smaps.utf8.count) bytes")
        let flags = smaps.split(separator: "\n").filter { $0.hasPrefix("VmFlags:") }
        #expect(flags.count == mappings.count, "every mapping to its last line")
        try withScratch("read") { scratch throws in
            for size in [0, 1, 16383, 16384, 16385, 40000] {
                let path = scratch.file("f\(size)")
                let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 % 251) }
                try FileSystem.writeAtomically(path, bytes)
                #expect(try FileSystem.read(path) == bytes, "\(size) bytes")
            }
        }
    }

    @Test func pathsJoinWithOneSlash() {
        #expect(Path.join("/run/swiftd", "web", suffix: ".pid") == "/run/swiftd/web.pid")
        #expect(Path.join("/run/swiftd/", "web", suffix: ".state") == "/run/swiftd/web.state")
        #expect(Path.join("/", "etc") == "/etc")
        #expect(Path.join("", "x") == "/x")
        #expect(Path.join("/tmp/caf\u{E9}", "\u{1F600}@1", suffix: ".log") == "/tmp/caf\u{E9}/\u{1F600}@1.log")
        // A final slash that a combining mark follows is not a separator.
        #expect(Path.join("/a/\u{301}", "b") == "/a/\u{301}/b")
    }

    @Test func exitStatusReadsAndRecords() {
        #expect(ExitStatus.exited(3).description == "exited with status 3")
        #expect(ExitStatus.signaled(.kill, coreDumped: false).description == "killed by signal KILL")
        #expect(ExitStatus.signaled(.terminate, coreDumped: false).shellStatus == 143)
        for status in [ExitStatus.exited(0), .exited(255), .signaled(.kill, coreDumped: false), .signaled(.quit, coreDumped: true)] {
            #expect(ExitStatus(record: status.record) == status)
        }
        #expect(ExitStatus(record: "garbage") == nil)
    }

    @Test func lockTableParsing() {
        let table = Array("""
        1: POSIX  ADVISORY  WRITE 77 fe:00:123 0 EOF
        2: FLOCK  ADVISORY  WRITE 1234 fe:00:16220216 0 EOF
        2: -> FLOCK  ADVISORY  WRITE 999 fe:00:16220216 0 EOF
        3: FLOCK  ADVISORY  READ 55 08:01:42 0 EOF

        """.utf8)
        let file = FileLocks.FileID(device: 0xfe00, inode: 16220216)
        #expect(FileLocks.holder(of: file, in: table) == .process(1234))
        #expect(FileLocks.holder(of: FileLocks.FileID(device: 0xfe00, inode: 123), in: table) == .none)
        #expect(FileLocks.holder(of: FileLocks.FileID(device: 0x0801, inode: 42), in: table) == .none)
    }

    @Test func pathsSplitAndJoin() {
        #expect(Path.directory(of: "/run/swiftd/web.pid") == "/run/swiftd")
        #expect(Path.directory(of: "/web.pid") == "/")
        #expect(Path.directory(of: "web.pid") == ".")
        #expect(Path.fileName(of: "/run/swiftd/web.pid") == "web.pid")
        #expect(Path.join("/run/", "x") == "/run/x")
    }

    @Test func systemErrorsNameOperationPathAndReason() {
        #expect(SystemError("open", path: "/run/swiftd/web.pid", errno: .accessDenied).description == "open /run/swiftd/web.pid: Permission denied")
        #expect(SystemError("open", path: "/x", errno: .tooManySymbolicLinks).description == "open /x: is a symbolic link (refused)")
    }
}

/// `UserDatabase`: /etc/passwd and /etc/group read directly.
@Suite(.hangLimit) struct UserDatabaseTests {
    @Test func readsUsersGroupsAndMembership() throws {
        let dir = "/tmp/swiftd-userdb-\(getpid())"
        mkdir(dir, 0o700)
        defer { unlink(dir + "/passwd"); unlink(dir + "/group"); rmdir(dir) }
        try FileSystem.writeAtomically(dir + "/passwd", Array("""
        root:x:0:0:root:/root:/bin/bash
        # a comment
        app:x:1001:1001:App,,,:/srv/app:/usr/sbin/nologin
        broken line
        """.utf8))
        try FileSystem.writeAtomically(dir + "/group", Array("""
        root:x:0:
        app:x:1001:
        web:x:2000:app,other
        log:x:2001:other
        """.utf8))
        let db = UserDatabase(passwd: dir + "/passwd", group: dir + "/group")
        let app = try #require(db.user("app"))
        #expect(app.uid == 1001 && app.gid == 1001 && app.home == "/srv/app")
        #expect(db.user("1001")?.name == "app")
        #expect(db.user("nobody-here") == nil)
        #expect(db.groupID("web") == 2000)
        #expect(db.groupID("3000") == 3000)
        #expect(db.groupID("nope") == nil)
        #expect(db.supplementaryGroups(of: "app", primary: 1001) == [1001, 2000])
    }

    @Test func agreesWithTheSystemForNobody() throws {
        let credentials = try Credentials.lookup(user: "nobody", group: nil)
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        _ = buffer.withUnsafeMutableBufferPointer { getpwnam_r("nobody", &entry, $0.baseAddress!, $0.count, &found) }
        try #require(found != nil)
        #expect(credentials.uid == entry.pw_uid)
        #expect(credentials.gid == entry.pw_gid)
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: 64)
        _ = getgrouplist("nobody", entry.pw_gid, &groups, &count)
        #expect(Set(credentials.groups ?? []) == Set(groups.prefix(Int(count))))
    }
}
