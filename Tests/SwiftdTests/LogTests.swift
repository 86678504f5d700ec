import Glibc
import Daemonize
import TestSupport
import Testing

/// The supervisor's log: rotation, timestamps, reopen.
@Suite(.hangLimit) struct LogTests {
    @Test func rotationKeepsEveryLineExactlyOnce() throws {
        try withHarness("rotate") { h throws in
            let lines = 4000
            let start = try h.startService("r", ["--log-max-size", "16K", "--log-keep", "40"], service: ["--print", "\(lines)", "--print-size", "20"])
            #expect(start.code == 0, "\(start)")
            #expect(eventually { h.log("r").contains("line \(lines) of \(lines)") })
            var files = [h.logFile("r")]
            var n = 1
            while FileSystem.exists(h.logFile("r") + ".\(n)") { files.insert(h.logFile("r") + ".\(n)", at: 0); n += 1 }
            #expect(files.count >= 5, "several rotations: \(files)")
            var numbers: [Int] = []
            for file in files {
                let bytes = try FileSystem.read(file, limit: 1 << 24)
                #expect(bytes.count <= 16 * 1024, "\(file) is \(bytes.count) bytes")
                #expect(bytes.last == 10, "\(file) ends with a whole line")
                for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("line ") {
                    let words = line.split(separator: " ")
                    #expect(words.count == 5 && words[4].count == 20, "an intact line: \(line)")
                    numbers.append(Int(words[1]) ?? -1)
                }
            }
            #expect(numbers == Array(1...lines), "every line once, in order")
        }
    }

    @Test func keepLimitsTheRotatedFiles() throws {
        try withHarness("rotate-keep") { h throws in
            #expect(try h.startService("k", ["--log-max-size", "4K", "--log-keep", "2"], service: ["--print", "2000"]).code == 0)
            #expect(eventually { h.log("k").contains("line 2000 of 2000") })
            #expect(FileSystem.exists(h.logFile("k") + ".2"))
            #expect(!FileSystem.exists(h.logFile("k") + ".3"))
        }
    }

    @Test func timestampsAreRFC3339UTC() throws {
        try withHarness("timestamps") { h throws in
            #expect(try h.startService("t", ["--log-timestamps"], service: ["--print", "3"]).code == 0)
            #expect(eventually { h.log("t").contains("line 3 of 3") })
            for line in h.log("t").split(separator: "\n") {
                let bytes = Array(line.utf8)
                guard bytes.count > 25 else {
                    Issue.record("a line too short for its timestamp: \(line)")
                    continue
                }
                let pattern = Array("dddd-dd-ddTdd:dd:dd.dddZ ".utf8)
                for (i, p) in pattern.enumerated() {
                    if p == UInt8(ascii: "d") {
                        #expect(bytes[i] >= 48 && bytes[i] <= 57, "\(line)")
                    } else {
                        #expect(bytes[i] == p, "\(line)")
                    }
                }
            }
        }
    }

    @Test func usr2ReopensTheLog() throws {
        try withHarness("reopen") { h throws in
            #expect(try h.startService("o", ["--ready", "fd:9"], service: ["--print-on-signal", "--fd-ready", "9"]).code == 0)
            let supervisor = try #require(h.lockHolder("o"))
            #expect(Glibc.rename(h.logFile("o"), h.logFile("o") + ".old") == 0)
            kill(supervisor, SIGUSR2)
            #expect(eventually { FileSystem.exists(h.logFile("o")) })
            #expect(try h.swiftd(["signal", "o", "USR1"]).code == 0)
            #expect(eventually { h.log("o").contains("got USR1") })
            #expect(!h.text("log/o.log.old").contains("got USR1"))
        }
    }

    @Test func deletedLogDirectoryDoesNotStopTheService() throws {
        try withHarness("log-deleted") { h throws in
            #expect(try h.startService("d", ["--ready", "fd:9"], service: ["--print-on-signal", "--fd-ready", "9"]).code == 0)
            let pid = try #require(h.pid("d"))
            unlink(h.logFile("d"))
            rmdir(h.logDirectory)
            Monotonic.sleep(nanoseconds: 1_100_000_000)
            #expect(try h.swiftd(["signal", "d", "USR1"]).code == 0)
            #expect(eventually { h.log("d").contains("got USR1") }, "the log comes back")
            #expect(h.pid("d") == pid)
            #expect(h.isAlive(pid))
        }
    }
}
