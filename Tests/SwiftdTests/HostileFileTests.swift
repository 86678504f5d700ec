import Glibc
import Daemonize
import TestSupport
import Testing

/// Hostile files (issue 7, scenario 4): symlinks, FIFOs, directories, files
/// of another user, an unsafe run dir, garbage state and config files.
/// Refused with a clear one-line error or handled; nothing outside the run
/// dir is written or truncated. Symlinks point at a copy of /etc/passwd in
/// the test's directory, so that a bug cannot damage the machine.
@Suite(.hangLimit) struct HostileFileTests {
    enum Kind: String, CaseIterable { case symlink, dangling, fifo, directory, foreign }

    /// What `target` should be made into; returns the victim file a symlink points at.
    @discardableResult
    func plant(_ h: Harness, _ kind: Kind, at target: String) throws -> String {
        let victim = h.scratch.file("passwd")
        try FileSystem.writeAtomically(victim, try FileSystem.read("/etc/passwd"))
        try FileSystem.makeDirectories(Path.directory(of: target), mode: 0o755)
        switch kind {
        case .symlink: symlink(victim, target)
        case .dangling: symlink(h.scratch.file("nowhere"), target)
        case .fifo: mkfifo(target, 0o644)
        case .directory: mkdir(target, 0o755)
        case .foreign:
            try FileSystem.writeAtomically(target, Array("12345\n".utf8))
            #expect(chown(target, 65534, 65534) == 0, "a file of another user: \(Errno.current)")
        }
        return victim
    }

    func expectUntouched(_ h: Harness, _ label: String) throws {
        #expect(try FileSystem.read(h.scratch.file("passwd")) == FileSystem.read("/etc/passwd"), "\(label): the symlink's target was written")
        #expect(!FileSystem.exists(h.scratch.file("nowhere")), "\(label): a dangling symlink's target was created")
        #expect(h.processes(named: "fixture").isEmpty, "\(label): something was started")
    }

    /// Making a file of another user needs root.
    @Test(.requires(.root)) func hostilePidFileOfAnotherUser() throws {
        try hostilePidFile(.foreign)
    }

    @Test(arguments: Kind.allCases.filter { $0 != .foreign })
    func hostilePidFile(_ kind: Kind) throws {
        try withHarness("hostile-pid") { h throws in
            try plant(h, kind, at: h.pidFile("x"))
            let start = try h.startService("x")
            #expect(start.code != 0, "\(kind): \(start)")
            #expect(start.stderr.split(separator: "\n").count == 1 && start.stderr.contains(h.pidFile("x")), "\(kind): one line naming it: \(start)")
            let status = try h.swiftd(["status", "x"])
            #expect(status.code == 4, "\(kind): \(status)")
            for command in [["stop", "x"], ["reload", "x"], ["signal", "x", "TERM"]] {
                let result = try h.swiftd(command)
                #expect(result.code != 0 || command[0] == "stop", "\(kind) \(command): \(result)")
            }
            try expectUntouched(h, "pidfile \(kind)")
        }
    }

    @Test(arguments: [Kind.symlink, .dangling, .fifo, .directory])
    func hostileStateFile(_ kind: Kind) throws {
        try withHarness("hostile-state") { h throws in
            try plant(h, kind, at: Path.join(h.runDirectory, "x.state"))
            let start = try h.startService("x")
            #expect(start.code == 1, "\(kind): \(start)")
            #expect(start.stderr.contains("state file"), "\(start)")
            #expect(try h.swiftd(["status", "x"]).code == 4)
            try expectUntouched(h, "state \(kind)")
        }
    }

    @Test(arguments: [Kind.symlink, .dangling, .fifo, .directory])
    func hostileLogFile(_ kind: Kind) throws {
        try withHarness("hostile-log") { h throws in
            try plant(h, kind, at: h.logFile("x"))
            let start = try h.startService("x")
            #expect(start.code != 0, "\(kind): \(start)")
            #expect(start.stderr.contains(h.logFile("x")), "\(start)")
            try expectUntouched(h, "log \(kind)")
        }
    }

    @Test func symlinkedRunAndLogDirectoriesAreRefused() throws {
        try withHarness("hostile-dirs") { h throws in
            let elsewhere = h.scratch.file("elsewhere")
            mkdir(elsewhere, 0o755)
            symlink(elsewhere, h.runDirectory)
            let run = try h.startService("x")
            #expect(run.code != 0 && run.stderr.contains("run dir \(h.runDirectory): is a symbolic link (refused)"), "\(run)")
            unlink(h.runDirectory)
            symlink(elsewhere, h.logDirectory)
            let log = try h.startService("x")
            #expect(log.code != 0 && log.stderr.contains("log dir \(h.logDirectory): is a symbolic link (refused)"), "\(log)")
            #expect(ProcessTable.entries(of: elsewhere).isEmpty, "nothing written through the links")
            #expect(h.processes(named: "fixture").isEmpty)
        }
    }

    @Test func worldWritableRunDirectoryWithoutStickyIsRefused() throws {
        try withHarness("hostile-rundir") { h throws in
            mkdir(h.runDirectory, 0o777)
            chmod(h.runDirectory, 0o777)
            let start = try h.startService("x")
            #expect(start.code == 4, "\(start)")
            #expect(start.stderr.contains("writable by everyone and not sticky"))
            #expect(try h.swiftd(["stop", "x"]).code == 4)
            #expect(try h.swiftd(["signal", "x", "HUP"]).code == 4)
            chmod(h.runDirectory, 0o1777)
            #expect(try h.startService("x").code == 0, "sticky is fine (like /tmp)")
        }
    }

    /// Making a file of another user needs root.
    @Test(.requires(.root)) func configFileAndDirectoryOfOthersAreRefused() throws {
        try withHarness("hostile-conf") { h throws in
            mkdir(h.configDirectory, 0o755)
            let file = Path.join(h.configDirectory, "x.conf")
            try FileSystem.writeAtomically(file, Array("command = \(h.fixturePath) service\n".utf8))
            #expect(chown(file, 65534, 65534) == 0, "\(Errno.current)")
            let foreign = try h.swiftd(["start", "x"])
            #expect(foreign.code == 6 && foreign.stderr.contains("owned by uid 65534"), "\(foreign)")
            chown(file, 0, 0)
            chmod(file, 0o666)
            let writable = try h.swiftd(["start", "x"])
            #expect(writable.code == 6 && writable.stderr.contains("writable by group or others"), "\(writable)")
            chmod(file, 0o644)
            chmod(h.configDirectory, 0o777)
            let directory = try h.swiftd(["start", "x"])
            #expect(directory.code == 6 && directory.stderr.contains("config dir"), "\(directory)")
            chmod(h.configDirectory, 0o755)
            unlink(file)
            try plant(h, .symlink, at: file)
            let link = try h.swiftd(["start", "x"])
            #expect(link.code == 6 && link.stderr.contains("symbolic link"), "\(link)")
            try expectUntouched(h, "config")
        }
    }

    static let garbage: [String: [UInt8]] = [
        "empty": [],
        "truncated": Array("version=1\nname=x\nmode=supervi".utf8),
        "binary": (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) | 0x80 },
        "ten megabytes": Array(repeating: UInt8(ascii: "a"), count: 10 << 20),
        "NUL bytes": Array("version=1\nname=x\u{0}\nphase=running\n".utf8),
        "another service's": Array("version=1\nname=y\nmode=supervised\nphase=running\n".utf8),
        "a bad pid": Array("version=1\nname=x\nmode=supervised\nphase=running\npid=-1\n".utf8),
    ]

    @Test(arguments: garbage.keys.sorted())
    func garbageStateFileIsAClearErrorAndNoCrash(_ label: String) throws {
        try withHarness("garbage-state") { h throws in
            try FileSystem.makeDirectories(h.runDirectory, mode: 0o755)
            try FileSystem.writeAtomically(Path.join(h.runDirectory, "x.state"), try #require(Self.garbage[label]))
            let status = try h.swiftd(["status", "x"])
            #expect(status.code == 4, "\(label): \(status)")
            #expect(status.stdout.contains("x.state"), "\(label): names the file: \(status)")
            let list = try h.swiftd(["list"])
            #expect(list.code == 0, "\(label): \(list)")
            #expect(try h.swiftd(["stop", "x"]).code == 0)
            // A start writes a fresh record over it.
            #expect(try h.startService("x").code == 0, "\(label)")
            #expect(try h.swiftd(["status", "x"]).code == 0)
        }
    }

    @Test(arguments: garbage.keys.sorted().filter { $0 != "another service's" && $0 != "a bad pid" })
    func garbageConfigFileIsSix(_ label: String) throws {
        try withHarness("garbage-conf") { h throws in
            mkdir(h.configDirectory, 0o755)
            try FileSystem.writeAtomically(Path.join(h.configDirectory, "x.conf"), try #require(Self.garbage[label]))
            let start = try h.swiftd(["start", "x"])
            #expect(start.code == 6, "\(label): \(start)")
            #expect(start.stderr.split(separator: "\n").count == 1, "\(label): one line: \(start)")
            #expect(start.stderr.contains("x.conf"))
            #expect(h.processes(named: "fixture").isEmpty)
        }
    }
}
