import Glibc
@testable import Daemonize
import TestSupport
import Testing

/// The values of the process environment keys, and environment files, as
/// they are read and written back. The limit is the suites' usual one: on
/// two cores a test can wait its turn behind the end-to-end suites for more
/// than a minute (CI saw these five time out at 69 s without having run).
@Suite(.hangLimit) struct ProcessEnvironmentValueTests {
    func limit(_ text: String) throws -> ResourceLimit { try ServiceConfiguration.parseLimit(text) }

    func reason(_ body: () throws -> Void) -> String {
        do {
            try body()
            return ""
        } catch {
            return "\(error)"
        }
    }

    @Test func limitsReadAndWriteBack() throws {
        #expect(try limit("nofile=1024") == ResourceLimit(.nofile, soft: 1024, hard: 1024), "one value sets both")
        #expect(try limit("nofile=1024:4096") == ResourceLimit(.nofile, soft: 1024, hard: 4096))
        #expect(try limit("core=unlimited") == ResourceLimit(.core, soft: nil, hard: nil))
        #expect(try limit("core=0:infinity") == ResourceLimit(.core, soft: 0, hard: nil))
        #expect(try limit("memlock=64M") == ResourceLimit(.memlock, soft: 64 << 20, hard: 64 << 20))
        #expect(try limit("fsize=512K:1G") == ResourceLimit(.fsize, soft: 512 << 10, hard: 1 << 30))
        for text in ["nofile=1024", "nofile=1024:4096", "core=unlimited", "core=0:unlimited", "memlock=64M", "stack=8M:unlimited", "cpu=60:120"] {
            #expect(ServiceConfiguration.limitText(try limit(text)) == text)
        }
        for resource in ResourceLimit.Resource.allCases {
            #expect(try limit("\(resource.rawValue)=1").resource == resource)
        }
    }

    @Test func badLimitsSayWhy() {
        #expect(reason { _ = try limit("files=10") }.contains("unknown resource 'files'; expected one of nofile, nproc, core"))
        #expect(reason { _ = try limit("nofile=4096:1024") }.contains("the soft limit 4096 is above the hard limit 1024"))
        #expect(reason { _ = try limit("core=unlimited:0") }.contains("the soft limit unlimited is above the hard limit 0"))
        #expect(reason { _ = try limit("nofile=lots") }.contains("'lots' is not a number or unlimited"))
        #expect(reason { _ = try limit("nofile=10M") }.contains("'10M' is not a number"), "no sizes for a count")
        #expect(reason { _ = try limit("memlock=-1") }.contains("'-1' is not a size like 64M or unlimited"))
        #expect(reason { _ = try limit("nofile") }.contains("expected RES=SOFT[:HARD]"))
        #expect(reason { _ = try limit("nofile=1:2:3") }.contains("expected RES=SOFT[:HARD]"))
        #expect(reason { _ = try limit("nofile=") }.contains("'' is not a number"))
    }

    @Test func schedulingValues() throws {
        #expect(try ServiceConfiguration.parseIOScheduling("idle") == IOScheduling(.idle))
        #expect(try ServiceConfiguration.parseIOScheduling("best-effort") == IOScheduling(.bestEffort, level: 4))
        #expect(try ServiceConfiguration.parseIOScheduling("real-time:0") == IOScheduling(.realTime, level: 0))
        #expect(reason { _ = try ServiceConfiguration.parseIOScheduling("realtime") }.contains("unknown class 'realtime'"))
        #expect(reason { _ = try ServiceConfiguration.parseIOScheduling("idle:3") }.contains("idle takes no level"))
        #expect(reason { _ = try ServiceConfiguration.parseIOScheduling("best-effort:8") }.contains("the level must be 0 to 7"))
        #expect(try ServiceConfiguration.parseCPUScheduling("batch") == CPUScheduling(.batch))
        #expect(try ServiceConfiguration.parseCPUScheduling("fifo") == CPUScheduling(.fifo, priority: 1))
        #expect(try ServiceConfiguration.parseCPUScheduling("rr:99") == CPUScheduling(.rr, priority: 99))
        #expect(reason { _ = try ServiceConfiguration.parseCPUScheduling("deadline") }.contains("unknown policy 'deadline'"))
        #expect(reason { _ = try ServiceConfiguration.parseCPUScheduling("fifo:0") }.contains("the priority of fifo must be 1 to 99"))
        #expect(reason { _ = try ServiceConfiguration.parseCPUScheduling("batch:5") }.contains("batch takes no priority"))
        var c = ServiceConfiguration(name: ServiceName("x")!)
        for (key, value) in [("iosched", "idle"), ("iosched", "best-effort:2"), ("cpusched", "idle"), ("cpusched", "fifo:20")] {
            try c.apply(key, value)
            #expect(c.value(of: key) == value)
        }
    }

    func parse(_ text: String) throws(EnvironmentFile.Malformed) -> [String] { try EnvironmentFile.parse(Array(text.utf8)) }

    @Test func environmentFilesFollowSystemdRules() throws {
        let text = ##"""
            # a comment
              ; another one
            export GREETING="hello world"
            PLAIN =   interior  blanks kept   
            SINGLE='$HOME \n'
            DOUBLE="a \"b\" \$c \\ \d"
            JOINED="one \
            two"
            MULTI='first
            second'
            ESCAPED=a\ b\#c\\
            CONTINUED=abc\
            def
            INNER=foo"bar"
            TWICE='a' "b"
            EMPTY=
            """## + "\nCRLF=value\r\n"
        #expect(try parse(text) == [
            "GREETING=hello world", "PLAIN=interior  blanks kept", #"SINGLE=$HOME \n"#, #"DOUBLE=a "b" $c \ \d"#, "JOINED=one two",
            "MULTI=first\nsecond", #"ESCAPED=a b#c\"#, "CONTINUED=abcdef", #"INNER=foo"bar""#, "TWICE=ab", "EMPTY=", "CRLF=value",
        ])
        #expect(try parse("") == [])
        #expect(try parse("\u{FEFF}A=1\n") == ["A=1"], "a byte order mark")
    }

    @Test func malformedEnvironmentFilesNameTheLine() {
        func failure(_ text: String) -> EnvironmentFile.Malformed? {
            do {
                _ = try parse(text)
                return nil
            } catch {
                return error
            }
        }
        #expect(failure("A=1\nfoo bar\n") == .init(line: 2, reason: "expected NAME=VALUE, got 'foo bar'"))
        #expect(failure("A=1\n\n1X=2\n")?.line == 3)
        #expect(failure("A=1\n\n1X=2\n")?.reason.contains("'1X' is not a variable name") == true)
        #expect(failure("A-B=1\n")?.line == 1)
        #expect(failure("A=1\nB=\"open\nC=3\n") == .init(line: 2, reason: "unterminated \" quote"))
        #expect(failure("A='open") == .init(line: 1, reason: "unterminated ' quote"))
        #expect(failure("A=1\nB=\0\n")?.line == 2)
        #expect(failure("A=\u{FF}") == nil, "U+00FF is text")
        // A value is bytes, UTF-8 or not, passed on exactly.
        #expect((try? EnvironmentFile.parse([65, 61, 0xFF, 0x0A, 66, 61, 0x27, 0xC3, 0x0A, 0x27]))?.map(\.platformBytes) == [[65, 61, 0xFF], [66, 61, 0xC3, 0x0A]])
    }
}
