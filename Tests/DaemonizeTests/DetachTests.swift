import Glibc
import Daemonize
import TestSupport
import Testing

/// `Daemon.detach`, checked from outside through /proc and the files.
@Suite(.hangLimit) struct DetachTests {
    let fixture = product("fixture")

    @Test func daemonIsDetachedWithTheAskedForState() throws {
        try withScratch("detach") { scratch throws in
            let pidFile = scratch.file("d.pid")
            let log = scratch.file("d.log")
            let original = try Spawned.start(fixture, ["detach", "--pidfile", pidFile, "--umask", "027", "--log", log, "--message", "up"],
                                             environment: scratch.environment)
            let result = original.wait()
            #expect(result.code == 0, "\(result)")
            #expect(result.stdout == "up\n")

            let pid = try #require(PIDFile.parsePID(try FileSystem.read(pidFile)))
            let stat = try #require(ProcessTable.stat(of: pid))
            #expect(stat.parent != original.pid)
            #expect(stat.session != pid, "the daemon must not be a session leader")
            #expect(stat.session != ProcessTable.stat(of: getpid())?.session)
            #expect(stat.terminal == 0)
            #expect(readLink("/proc/\(pid)/cwd") == "/")
            let status = String(decoding: try FileSystem.read("/proc/\(pid)/status"), as: UTF8.self)
            #expect(status.contains("Umask:\t0027"))

            // The report channel is closed right after the report is written: the original may
            // have read it and exited a moment before (seen under load: fds 0, 1, 2, 4 and the pipe).
            #expect(eventually { ProcessTable.openDescriptors(of: pid).count == 4 }, "descriptors: \(ProcessTable.openDescriptors(of: pid))")
            let fds = ProcessTable.openDescriptors(of: pid)
            #expect(readLink("/proc/\(pid)/fd/0") == "/dev/null")
            #expect(readLink("/proc/\(pid)/fd/1") == log)
            #expect(readLink("/proc/\(pid)/fd/2") == log)
            let others = fds.filter { $0 > 2 }.map { readLink("/proc/\(pid)/fd/\($0)") }
            #expect(others == [pidFile])

            #expect(PIDFile.status(at: pidFile) == .running(pid: pid))
            #expect(PIDFile.lockHolder(at: pidFile) == pid)
            #expect(String(decoding: try FileSystem.read(log), as: UTF8.self).contains("daemon \(pid) started"))
        }
    }

    @Test func streamsGoToDevNullWithoutALog() throws {
        try withScratch("detach-null") { scratch throws in
            let pidFile = scratch.file("d.pid")
            let result = try run(fixture, ["detach", "--pidfile", pidFile], environment: scratch.environment)
            #expect(result.code == 0, "\(result)")
            let pid = try #require(PIDFile.parsePID(try FileSystem.read(pidFile)))
            for fd in 0...2 { #expect(readLink("/proc/\(pid)/fd/\(fd)") == "/dev/null") }
        }
    }

    @Test func originalExitsOnlyAfterReady() throws {
        try withScratch("detach-ready") { scratch throws in
            let marker = scratch.file("marker")
            let result = try run(fixture, ["detach", "--then", "ready-later", "--delay", "300", "--marker", marker],
                                 environment: scratch.environment)
            #expect(result.code == 0, "\(result)")
            // The daemon writes the marker just before ready(): it exists once the original is gone.
            #expect(FileSystem.exists(marker))
        }
    }

    @Test func failReportsTheMessageAndExitsOne() throws {
        try withScratch("detach-fail") { scratch throws in
            let result = try run(fixture, ["detach", "--then", "fail", "--message", "cannot bind port 80"], environment: scratch.environment)
            #expect(result.code == 1)
            #expect(result.stderr == "cannot bind port 80\n")
            #expect(result.stdout.isEmpty)
        }
    }

    @Test func deathBeforeReadyExitsOneWithTheStatus() throws {
        try withScratch("detach-die") { scratch throws in
            let result = try run(fixture, ["detach", "--then", "die", "--code", "7"], environment: scratch.environment)
            #expect(result.code == 1)
            #expect(result.stderr == "daemon exited during startup (status 7)\n")
        }
    }

    @Test func refusesWithThreads() throws {
        try withScratch("detach-threads") { scratch throws in
            let result = try run(fixture, ["detach", "--threads"], environment: scratch.environment)
            #expect(result.code == 3)
            #expect(result.stderr.contains("2 threads"))
        }
    }

    @Test func lockedPidFileIsReportedBeforeForking() throws {
        try withScratch("detach-locked") { scratch throws in
            let pidFile = scratch.file("d.pid")
            let first = try run(fixture, ["detach", "--pidfile", pidFile], environment: scratch.environment)
            #expect(first.code == 0)
            let pid = try #require(PIDFile.parsePID(try FileSystem.read(pidFile)))
            let second = try run(fixture, ["detach", "--pidfile", pidFile], environment: scratch.environment)
            #expect(second.code == 3)
            #expect(second.stderr.contains("locked by pid \(pid)"), "\(second)")
        }
    }

    @Test func missingPidFileDirectoryIsReportedBeforeForking() throws {
        try withScratch("detach-nodir") { scratch throws in
            let result = try run(fixture, ["detach", "--pidfile", scratch.file("nope/d.pid")], environment: scratch.environment)
            #expect(result.code == 3)
            #expect(result.stderr.contains("nope"), "\(result)")
            #expect(scratch.markedProcesses().isEmpty)
        }
    }
}

/// The target of a symlink such as /proc/PID/cwd; empty when unreadable.
func readLink(_ path: String) -> String {
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = buffer.withUnsafeMutableBytes { readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), 4095) }
    return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
}
