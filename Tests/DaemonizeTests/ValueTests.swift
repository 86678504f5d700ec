@testable import Daemonize
import Testing

/// Pure parsing and formatting: no processes involved.
@Suite struct ValueTests {
    @Test func signalsParseByNameAndNumber() {
        #expect(Signal(parsing: "TERM") == .terminate)
        #expect(Signal(parsing: "SIGTERM") == .terminate)
        #expect(Signal(parsing: "term") == .terminate)
        #expect(Signal(parsing: "15") == .terminate)
        #expect(Signal(parsing: "9") == .kill)
        #expect(Signal(parsing: "HUP") == .hangup)
        #expect(Signal(parsing: "0") == nil)
        #expect(Signal(parsing: "65") == nil)
        #expect(Signal(parsing: "-1") == nil)
        #expect(Signal(parsing: "BOGUS") == nil)
        #expect(Signal(parsing: "") == nil)
        #expect(Signal(parsing: "SIG") == nil)
        #expect(Signal.terminate.name == "TERM")
        #expect(Signal(rawValue: 40).name == "40")
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
        #expect(SystemError("open", path: "/x", errno: .tooManyLinks).description == "open /x: is a symbolic link (refused)")
    }
}
