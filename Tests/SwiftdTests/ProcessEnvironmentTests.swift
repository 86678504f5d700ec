import Glibc
import Daemonize
import TestSupport
import Testing

/// The process environment of a service (`--limit`, `--iosched`, `--cpusched`,
/// `--oom-score-adjust`, `--chroot`), seen from outside through /proc, in both
/// modes; and what is refused before anything starts.
@Suite(.hangLimit) struct ProcessEnvironmentTests {
    /// Supervised, and exec mode.
    static let modes: [[String]] = [[], ["--no-supervise"]]

    @Test(arguments: modes) func limitsSchedulingAndOOMAdjustmentReachTheService(_ mode: [String]) throws {
        try withHarness("procenv") { h throws in
            let options = mode + ["--limit", "nofile=1000:2000", "--limit", "fsize=1M:2M", "--limit", "core=0",
                                  "--iosched", "best-effort:2", "--cpusched", "batch", "--oom-score-adjust", "300"]
            let start = try h.startService("p", options)
            #expect(start.code == 0, "\(start)")
            let pid = try #require(h.pid("p"))
            let limits = ProcFS.limits(pid)
            #expect(limits["Max open files"] == ["1000", "2000"], "\(limits)")
            #expect(limits["Max file size"] == ["1048576", "2097152"], "\(limits)")
            #expect(limits["Max core file size"] == ["0", "0"], "\(limits)")
            #expect(try ProcFS.ionice(pid) == "best-effort: prio 2")
            #expect(ProcFS.statField(pid, 41) == "3", "SCHED_BATCH")
            #expect(ProcFS.text("/proc/\(pid)/oom_score_adj") == "300")
            if mode.isEmpty {
                // The supervisor keeps its own.
                let supervisor = try #require(h.lockHolder("p"))
                #expect(ProcFS.limits(supervisor)["Max open files"] != ["1000", "2000"])
                #expect(ProcFS.text("/proc/\(supervisor)/oom_score_adj") != "300")
                // A respawn gets them again.
                kill(pid, SIGKILL)
                #expect(eventually { h.pid("p").map { $0 != pid } ?? false })
                let again = try #require(h.pid("p"))
                #expect(ProcFS.limits(again)["Max open files"] == ["1000", "2000"])
                #expect(ProcFS.statField(again, 41) == "3")
            }
            #expect(try h.swiftd(["stop", "p"]).code == 0)
        }
    }

    @Test func theKeysOfAConfigFileDoTheSame() throws {
        try withHarness("procenv-conf") { h throws in
            try h.writeConfig("p", """
                command = \(h.fixturePath) service
                limit = nofile=900
                limit = stack=4M:unlimited
                iosched = idle
                cpusched = idle
                oom-score-adjust = 700
                """)
            #expect(try h.swiftd(["start", "p"]).code == 0)
            let pid = try #require(h.pid("p"))
            #expect(ProcFS.limits(pid)["Max open files"] == ["900", "900"])
            #expect(ProcFS.limits(pid)["Max stack size"] == ["4194304", "unlimited"])
            #expect(try ProcFS.ionice(pid) == "idle")
            #expect(ProcFS.statField(pid, 41) == "5", "SCHED_IDLE")
            #expect(ProcFS.text("/proc/\(pid)/oom_score_adj") == "700")
            let check = try h.swiftd(["check", "p"])
            #expect(check.stdout.contains("limit = nofile=900 stack=4M:unlimited  # \(h.configDirectory)/p.conf:2, \(h.configDirectory)/p.conf:3"), "\(check)")
            #expect(check.stdout.contains("iosched = idle  # "))
            #expect(check.stdout.contains("chroot = none  # default"))
        }
    }

    @Test(.requires(.root))
    func realTimeSchedulingForRoot() throws {
        try withHarness("procenv-rt") { h throws in
            for mode in Self.modes {
                let start = try h.startService("rt", mode + ["--cpusched", "fifo:20", "--iosched", "real-time:1"])
                #expect(start.code == 0, "\(start)")
                let pid = try #require(h.pid("rt"))
                #expect(ProcFS.statField(pid, 41) == "1", "SCHED_FIFO")
                #expect(ProcFS.statField(pid, 40) == "20", "rt_priority")
                #expect(try ProcFS.ionice(pid) == "realtime: prio 1")
                #expect(try h.swiftd(["stop", "rt"]).code == 0)
            }
        }
    }

    /// Raising a hard limit needs CAP_SYS_RESOURCE, which root may lack in a
    /// container: with it the limit is raised, without it the start is refused.
    @Test func aHardLimitAboveTheCurrentOneNeedsThePrivilege() throws {
        try withHarness("procenv-hard") { h throws in
            var current = rlimit()
            getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &current)
            let most = UInt64(ProcFS.text("/proc/sys/fs/nr_open")) ?? 1_048_576
            let wanted = min(UInt64(current.rlim_max) + 1000, most)
            let start = try h.startService("h", ["--limit", "nofile=\(wanted)"])
            if CurrentProcess.hasCapability(CurrentProcess.capabilitySysResource) {
                #expect(start.code == 0, "\(start)")
                #expect(ProcFS.limits(try #require(h.pid("h")))["Max open files"] == ["\(wanted)", "\(wanted)"])
                #expect(try h.swiftd(["stop", "h"]).code == 0)
            } else {
                #expect(start.code == 2, "\(start)")
                #expect(start.stderr == "swiftd: bad value for --limit: 'nofile=\(wanted)' (the hard limit is \(current.rlim_max): only root (with CAP_SYS_RESOURCE) may raise it)\n")
            }
            let tooMany = try h.startService("h", ["--limit", "nofile=\(most + 1)"])
            #expect(tooMany.code == 2, "\(tooMany)")
            #expect(tooMany.stderr.contains("(nofile cannot be above \(most) (/proc/sys/fs/nr_open))"), "\(tooMany)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    static let badValues: [(key: String, value: String, reason: String)] = [
        ("limit", "files=10", "unknown resource 'files'"),
        ("limit", "nofile=10:5", "the soft limit 10 is above the hard limit 5"),
        ("limit", "nofile=many", "'many' is not a number or unlimited"),
        ("iosched", "fast", "unknown class 'fast'"),
        ("iosched", "best-effort:9", "the level must be 0 to 7"),
        ("cpusched", "deadline", "unknown policy 'deadline'"),
        ("cpusched", "rr:0", "the priority of rr must be 1 to 99"),
        ("oom-score-adjust", "2000", "expected a number from -1000 to 1000"),
        ("chroot", "jail", "expected an absolute path, or none"),
    ]

    @Test func badValuesAreRefusedBeforeAnythingStarts() throws {
        try withHarness("procenv-bad") { h throws in
            for (key, value, reason) in Self.badValues {
                let option = try h.startService("b", ["--\(key)", value])
                #expect(option.code == 2, "--\(key) \(value): \(option)")
                #expect(option.stderr.hasPrefix("swiftd: bad value for --\(key): '\(value)' (\(reason)"), "\(option)")
                try h.writeConfig("b", "command = \(h.fixturePath) service\n\(key) = \(value)\n")
                let file = try h.swiftd(["start", "b"])
                #expect(file.code == 6, "\(key) = \(value): \(file)")
                #expect(file.stderr.hasPrefix("swiftd: \(h.configDirectory)/b.conf:2: bad value for \(key): '\(value)' (\(reason)"), "\(file)")
                try FileSystem.remove(Path.join(h.configDirectory, "b.conf"))
            }
            #expect(h.scratch.markedProcesses().isEmpty)
            #expect(!FileSystem.exists(h.pidFile("b")))
            #expect(!FileSystem.exists(Path.join(h.runDirectory, "b.state")))
        }
    }

    // MARK: chroot

    @Test(arguments: modes) func chrootRunsTheCommandInsideItsDirectory(_ mode: [String]) throws {
        try withHarness("chroot") { h throws in
            let jail = try Jail.make(h)
            // bin/sleep is an absolute symlink, to /bin/real-sleep: inside the jail, not outside.
            let start = try h.swiftd(["start", "j"] + mode + ["--chroot", jail, "--chdir", "/bin", "--", "sleep", "1000"])
            #expect(start.code == 0, "\(start)")
            let pid = try #require(h.pid("j"))
            #expect(ProcFS.link("/proc/\(pid)/root") == jail)
            #expect(ProcFS.link("/proc/\(pid)/cwd") == jail + "/bin")
            #expect(ProcFS.link("/proc/\(pid)/exe") == jail + "/bin/real-sleep")
            #expect(h.lockHolder("j") != nil)
            #expect(try h.swiftd(["stop", "j"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func aChrootThatDoesNotExistOrLacksTheCommandIsRefused() throws {
        try withHarness("chroot-bad") { h throws in
            let jail = try Jail.make(h)
            let cases: [(String, [String], String)] = [
                ("/nonexistent-jail", ["sleep", "1"], "no such directory"),
                (jail, ["cat"], "no executable 'cat' in its PATH inside it"),
                (jail, ["/bin/cat"], "no executable /bin/cat inside it"),
                (jail, [h.fixturePath, "service"], "no executable \(h.fixturePath) inside it"),
            ]
            for (root, command, reason) in cases {
                let result = try h.swiftd(["start", "j", "--chroot", root, "--"] + command)
                #expect(result.code == 2, "\(result)")
                #expect(result.stderr.hasPrefix("swiftd: bad value for --chroot: '\(root)' (\(reason))"), "\(result)")
            }
            try h.writeConfig("j", "command = cat\nchroot = \(jail)\n")
            let file = try h.swiftd(["start", "j"])
            #expect(file.code == 6, "\(file)")
            #expect(file.stderr == "swiftd: \(h.configDirectory)/j.conf: bad value for chroot: '\(jail)' (no executable 'cat' in its PATH inside it)\n")
            chmod(jail, 0o775)
            let writable = try h.swiftd(["start", "k", "--chroot", jail, "--", "sleep", "1"])
            #expect(writable.code == 2, "\(writable)")
            #expect(writable.stderr.contains("(writable by group or others: refused)"), "\(writable)")
            #expect(h.scratch.markedProcesses().isEmpty)
            #expect(!FileSystem.exists(h.pidFile("j")) && !FileSystem.exists(h.pidFile("k")))
        }
    }
}

/// A directory to chroot into, holding a copy of /bin/sleep (as
/// bin/real-sleep, and bin/sleep an absolute symlink to it) and the
/// libraries `ldd` says it needs.
enum Jail {
    static func make(_ h: Harness) throws -> String {
        let jail = h.scratch.file("jail")
        try FileSystem.makeDirectories(Path.join(jail, "bin"), mode: 0o755)
        chmod(h.scratch.path, 0o755)
        try copy("/bin/sleep", to: Path.join(jail, "bin/real-sleep"))
        #expect(symlink("/bin/real-sleep", Path.join(jail, "bin/sleep")) == 0)
        let ldd = try run("/usr/bin/ldd", ["/bin/sleep"])
        for word in ldd.stdout.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) where word.hasPrefix("/") {
            let library = String(word)
            try FileSystem.makeDirectories(Path.join(jail, Path.directory(of: library)), mode: 0o755)
            try copy(library, to: jail + library)
        }
        return jail
    }

    /// Copies what `from` names (symbolic links followed) to `to`.
    static func copy(_ from: String, to: String) throws {
        guard let real = realpath(from, nil) else { throw SystemError("realpath", path: from) }
        defer { free(real) }
        try FileSystem.writeAtomically(to, try FileSystem.read(String(cString: real), limit: 1 << 26), mode: 0o755)
    }
}

/// What /proc says about a process.
enum ProcFS {
    static func text(_ path: String) -> String {
        (try? FileSystem.read(path, limit: 1 << 20)).map { String(decoding: $0, as: UTF8.self).trimmed } ?? ""
    }

    /// /proc/PID/limits: "Max open files" -> [soft, hard].
    static func limits(_ pid: pid_t) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for line in text("/proc/\(pid)/limits").split(separator: "\n").dropFirst() {
            // Columns are separated by two blanks or more.
            let columns = line.split(separator: "  ").map { String($0).trimmed }.filter { !$0.isEmpty }
            if columns.count >= 3 { result[columns[0]] = [columns[1], columns[2]] }
        }
        return result
    }

    /// Field `n` of /proc/PID/stat (1-based, as proc(5) numbers them).
    static func statField(_ pid: pid_t, _ n: Int) -> String? {
        let stat = text("/proc/\(pid)/stat")
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return n - 3 < fields.count ? String(fields[n - 3]) : nil
    }

    /// What `ionice -p PID` says.
    static func ionice(_ pid: pid_t) throws -> String {
        try run("/usr/bin/ionice", ["-p", "\(pid)"]).stdout.trimmed
    }

    static func link(_ path: String) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        return n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    }

    /// The environment of a process, as /proc/PID/environ has it.
    static func environment(_ pid: pid_t) -> [String] {
        ((try? FileSystem.read("/proc/\(pid)/environ", limit: 1 << 20)) ?? []).split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }
}

extension Harness {
    /// Writes `NAME.conf` into the config dir.
    func writeConfig(_ name: String, _ text: String) throws {
        try FileSystem.makeDirectories(configDirectory, mode: 0o755)
        try FileSystem.writeAtomically(Path.join(configDirectory, "\(name).conf"), Array(text.utf8))
    }
}

extension String {
    /// Without leading and trailing blanks and newlines.
    var trimmed: String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !blank($0) }), let last = lastIndex(where: { !blank($0) }) else { return "" }
        return String(self[first...last])
    }
}
