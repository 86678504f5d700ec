import Glibc
import Daemonize
import TestSupport
import Testing

/// Resource faults (issue 7, scenario 5) and inherited descriptors (scenario 8).
@Suite(.hangLimit) struct ResourceTests {
    @Test(.requires(.root))
    func fullRunDirectoryFailsTheStartCleanly() throws {
        try withHarness("full-rundir") { h throws in
            try FileSystem.makeDirectories(h.runDirectory, mode: 0o755)
            #expect(mount("tmpfs", h.runDirectory, "tmpfs", 0, "size=64k,mode=0755") == 0, "mount: \(Errno.current)")
            defer { umount2(h.runDirectory, Int32(MNT_DETACH)) }
            let filler = Path.join(h.runDirectory, "filler")
            let fd = open(filler, O_WRONLY | O_CREAT, 0o644)
            let block = [UInt8](repeating: 65, count: 4096)
            while write(fd, block, block.count) > 0 {}
            close(fd)
            for mode in [[], ["--no-supervise"]] {
                let start = try h.startService("x", mode)
                #expect(start.code == 1, "\(mode): \(start)")
                #expect(start.stderr.contains("No space left on device"), "\(mode): \(start)")
                #expect(start.stderr.split(separator: "\n").count == 1)
                #expect(h.scratch.markedProcesses().isEmpty, "\(mode): nothing left running")
                #expect(PIDFile.status(at: h.pidFile("x")) == .absent, "\(mode): no pidfile left")
            }
            unlink(filler)
            #expect(try h.startService("x").code == 0, "once there is room again")
        }
    }

    @Test func descriptorLimitOfSixteen() throws {
        try withHarness("fd16") { h throws in
            let describe = h.scratch.file("describe")
            for mode in [[], ["--no-supervise"]] {
                let words = h.withDirectories(["start", "x"] + mode + ["--", h.fixturePath, "service", "--describe", describe])
                let script = "ulimit -n 16 && exec \(h.swiftdPath) " + words.joined(separator: " ")
                let start = try run("/bin/sh", ["-c", script], environment: h.scratch.environment)
                #expect(start.code == 0, "\(mode): \(start)")
                // In exec mode the service also holds its lock's descriptor.
                #expect(keyValues(h.text("describe"))["fds"] == (mode.isEmpty ? "0,1,2" : "0,1,2,3"), "\(mode)")
                #expect(try h.swiftd(["stop", "x"]).code == 0)
            }
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func aThousandInheritableDescriptorsInTheCallerReachNothing() throws {
        try withHarness("fd1000") { h throws in
            let describe = h.scratch.file("describe")
            for mode in [[], ["--no-supervise"], ["--ready", "fd:5"]] {
                let service = [h.fixturePath, "service", "--describe", describe] + (mode.contains("fd:5") ? ["--fd-ready", "5"] : [])
                let start = try run(h.fixturePath, ["with-fds", "--count", "1000", "--", h.swiftdPath] + h.withDirectories(["start", "x"] + mode + ["--"] + service),
                                    environment: h.scratch.environment)
                #expect(start.code == 0, "\(mode): \(start)")
                let expected = mode.contains("fd:5") ? "0,1,2,5" : mode.contains("--no-supervise") ? "0,1,2,3" : "0,1,2"
                #expect(keyValues(h.text("describe"))["fds"] == expected, "\(mode): \(h.text("describe"))")
                if mode.isEmpty || mode.contains("fd:5") {
                    let supervisor = try #require(h.lockHolder("x"))
                    let fds = ProcessTable.openDescriptors(of: supervisor)
                    #expect(fds.count < 16, "the supervisor keeps none of them: \(fds)")
                }
                #expect(try h.swiftd(["stop", "x"]).code == 0)
            }
        }
    }
}
