import Glibc
import Daemonize
import TestSupport
import Testing

/// SECURITY.md's checklist for a new surface, applied to `--listen unix:`
/// (the race by another user is `HostileUserPathTests`): the supervisor
/// SIGKILLed at each moment of a socket's setup and removal, and paths up to
/// the kernel's limit.
@Suite(.requires(.hostileUser), .hangLimit)
struct ListenChecklistTests {
    /// Debug-build crash points: after `bind` (a 0600 socket of root's is
    /// left), after the `owner=` is set (a socket of that user's is left),
    /// and while a leftover is in the private directory on its way out.
    static let points = ["listen-bound", "listen-owned", "listen-holding"]

    @Test(arguments: points)
    func aSupervisorKilledWhileItSetsUpASocketLeavesNothingThatBlocks(_ point: String) throws {
        try withUserHarness("listen-crash") { h, user throws in
            let path = h.scratch.file("app.sock"), holding = h.scratch.file(".app.sock.swiftd")
            let start = ["start", "app", "--listen", "unix:\(path),owner=\(HostileUser.name),mode=0660", "--", h.fixturePath, "service"]
            if point == "listen-holding" {
                // A leftover to replace: its supervisor SIGKILLed.
                #expect(try h.swiftd(start).code == 0)
                kill(try #require(h.state("app")?.supervisorPID), SIGKILL)
                #expect(eventually { h.lockHolder("app") == nil })
                #expect(try h.swiftd(["stop", "app"]).code == 0)
            }
            let cli = try h.spawnSwiftd(start, environment: h.environment(pausingAt: point))
            let supervisor = try #require(h.stoppedProcess(), "the crash point \(point) was reached")
            kill(supervisor, SIGKILL)
            let failed = cli.wait(timeout: 30)
            #expect(failed.code == 1, "\(point): \(failed)")
            #expect(try h.swiftd(["stop", "app"]).code == 0)
            if point == "listen-holding" {
                #expect(!FileSystem.exists(path) && FileSystem.exists(Path.join(holding, "app.sock")), "the leftover waits in the private directory")
            } else {
                let left = try #require(try FileSystem.linkStatus(path), "\(point): a socket is left")
                #expect(left.st_uid == (point == "listen-bound" ? 0 : user.uid) && left.st_mode & 0o777 == 0o600)
            }
            let again = try h.swiftd(start)
            #expect(again.code == 0, "\(point): the next start works: \(again)")
            let st = try #require(try FileSystem.linkStatus(path))
            #expect(st.st_uid == user.uid && st.st_mode & 0o777 == 0o660)
            #expect(try h.swiftd(["stop", "app"]).code == 0)
            #expect(!FileSystem.exists(path) && !FileSystem.exists(holding), "\(point): nothing left after the stop")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// `sun_path` holds 107 bytes and a NUL: a path of 107 bytes works (with
    /// a leftover replaced and the private directory's longer path, reached
    /// by descriptor), one of 108 is refused before anything runs.
    @Test func aSocketPathOfTheKernelsLongestLengthWorks() throws {
        try withUserHarness("listen-long") { h, user throws in
            let directory = h.scratch.file("d")
            mkdir(directory, 0o755)
            let longest = Path.join(directory, String(repeating: "s", count: 107 - directory.utf8.count - 1))
            #expect(longest.utf8.count == 107)
            let start = ["start", "app", "--listen", "unix:\(longest),owner=\(HostileUser.name)", "--", h.fixturePath, "service"]
            #expect(try h.swiftd(start).code == 0)
            kill(try #require(h.state("app")?.supervisorPID), SIGKILL)
            #expect(eventually { h.lockHolder("app") == nil })
            #expect(try h.swiftd(["stop", "app"]).code == 0)
            let again = try h.swiftd(start)
            #expect(again.code == 0, "the leftover is replaced: \(again)")
            #expect(try FileSystem.linkStatus(longest)?.st_uid == user.uid)
            #expect(try h.swiftd(["stop", "app"]).code == 0)
            #expect((try? run("/bin/ls", ["-A", directory]).stdout) == "", "nothing left")
            let tooLong = try h.swiftd(["start", "long", "--listen", "unix:\(longest)x", "--", h.fixturePath, "service"])
            #expect(tooLong.code == 2 && tooLong.stderr.contains("shorter than 108 bytes"), "\(tooLong)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// The socket's directory full (no inode left) or read-only, and the
    /// caller's descriptor limit from 8 to 14: each start either works or
    /// fails with one line naming what failed and why, exit 1 or 4, and leaves no
    /// process; what it leaves (a 0600 socket of root's, when the limit ran
    /// out after `bind`) is replaced by the next start.
    @Test func aFullOrReadOnlyDirectoryOrFewDescriptorsFailCleanly() throws {
        try withHarness("listen-faults") { h throws in
            let full = h.scratch.file("full"), readOnly = h.scratch.file("ro")
            mkdir(full, 0o755)
            mkdir(readOnly, 0o755)
            #expect(mount("tmpfs", full, "tmpfs", 0, "size=64k,nr_inodes=3,mode=0755") == 0, "mount: \(Errno.current)")
            defer { umount2(full, Int32(MNT_DETACH)) }
            #expect(mount("tmpfs", readOnly, "tmpfs", UInt(MS_RDONLY), "size=64k,mode=0755") == 0, "mount: \(Errno.current)")
            defer { umount2(readOnly, Int32(MNT_DETACH)) }
            while (try? FileSystem.writeAtomically(Path.join(full, "f\(Int.random(in: 0..<1_000_000))"), [])) != nil {}
            for (directory, reason) in [(full, "bind: No space left on device"), (readOnly, "bind: Read-only file system")] {
                let start = try h.swiftd(["start", "app", "--listen", "unix:\(directory)/app.sock", "--", h.fixturePath, "service"])
                #expect([1, 4].contains(start.code) && start.stderr.contains("cannot listen on unix:\(directory)/app.sock: \(reason)"), "\(start)")
                #expect(h.scratch.markedProcesses().isEmpty)
            }
            let path = h.scratch.file("app.sock")
            for limit in 8...14 {
                let start = try run("/bin/sh", ["-c", "ulimit -n \(limit); exec \"$@\"", "sh", h.swiftdPath]
                                    + h.withDirectories(["start", "app", "--listen", "unix:\(path)", "--", h.fixturePath, "service"]),
                                    environment: h.scratch.environment)
                let lines = start.stderr.split(separator: "\n")
                #expect(start.code == 0 || (start.code == 1 && lines.count == 1 && lines[0].hasPrefix("swiftd: app") && lines[0].hasSuffix("Too many open files")),
                        "limit \(limit): \(start)")
                #expect(try h.swiftd(["stop", "app"]).code == 0)
                #expect(h.scratch.markedProcesses().isEmpty, "limit \(limit)")
            }
            #expect(try h.swiftd(["start", "app", "--listen", "unix:\(path)", "--", h.fixturePath, "service"]).code == 0)
            #expect(try h.swiftd(["stop", "app"]).code == 0)
            #expect(!FileSystem.exists(path) && h.scratch.markedProcesses().isEmpty)
        }
    }

    /// A unix path whose name holds bytes that are not UTF-8 (and control
    /// bytes): the socket is made with exactly those bytes, a leftover of them
    /// is replaced, and the stop removes it (and the private directory).
    @Test func aSocketPathOfBytesThatAreNotUTF8IsThoseBytes() throws {
        try withUserHarness("listen-bytes") { h, user throws in
            let directory = h.scratch.file("d")
            mkdir(directory, 0o755)
            let name: [UInt8] = Array("s".utf8) + [0x01, 0x0A, 0x7F, 0x80, 0xC3, 0xE9, 0xFF] + Array(".sock".utf8)
            let path = String(platformBytes: Array(directory.utf8) + [UInt8(ascii: "/")] + name)
            let start = ["start", "app", "--listen", "unix:\(path),owner=\(HostileUser.name)", "--", h.fixturePath, "service"]
            #expect(try h.swiftd(start).code == 0)
            #expect(try FileSystem.linkStatus(path).map { $0.st_mode & S_IFMT == S_IFSOCK } == true, "the socket has exactly those bytes")
            kill(try #require(h.state("app")?.supervisorPID), SIGKILL)
            #expect(eventually { h.lockHolder("app") == nil })
            #expect(try h.swiftd(["stop", "app"]).code == 0)
            let again = try h.swiftd(start)
            #expect(again.code == 0, "the leftover is replaced: \(again)")
            #expect(try FileSystem.linkStatus(path)?.st_uid == user.uid)
            let names = try run("/bin/ls", ["-A", "--escape", directory]).stdout
            #expect(names.split(separator: "\n").count == 1, "one file, the socket: \(names)")
            #expect(try h.swiftd(["stop", "app"]).code == 0)
            #expect(try run("/bin/ls", ["-A", directory]).stdout == "", "nothing left")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }
}
