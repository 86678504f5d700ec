import Glibc
import Daemonize
import TestSupport
import Testing

/// The operator's commands: several names, -q, forget, templates, start
/// after stop, and the small lies fixed on the way.
@Suite(.hangLimit)
struct OperatorTests {
    @Test func severalNamesAreEachHandledAsIfAloneAndTheWorstCodeWins() throws {
        try withHarness("several") { h throws in
            let service = "\(h.fixturePath) service"
            try h.writeConfig("a", "command = \(service)\n")
            try h.writeConfig("b", "command = \(service)\n")
            try h.writeConfig("missing", "command = /nonexistent/program\n")
            let start = try h.swiftd(["start", "a", "missing", "b"])
            #expect(start.code == 5, "the highest code: 5, command not found: \(start)")
            let a = try #require(h.pid("a")), b = try #require(h.pid("b"))
            #expect(start.stdout == "a started (pid \(a))\nb started (pid \(b))\n", "\(start)")
            #expect(start.stderr.contains("missing") && start.stderr.contains("/nonexistent/program"), "\(start)")
            let status = try h.swiftd(["status", "b", "a", "missing"])
            #expect(status.code == 3, "\(status)")
            #expect(status.stdout.hasPrefix("b: running (pid \(b))") && status.stdout.contains("\na: running (pid \(a))"), "\(status)")
            let json = try h.swiftd(["status", "a", "b", "--json"])
            #expect(json.stdout.hasPrefix("[{") && json.code == 0, "\(json)")
            let stop = try h.swiftd(["stop", "b", "a"])
            #expect(stop.code == 0 && stop.stdout == "b stopped\na stopped\n", "\(stop)")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// A stop of several names stops a supervised service in the command
    /// itself (its supervisor asked, then waited for with the others), any
    /// other by a swiftd of its own; each ends as a stop of its own would,
    /// a supervisor that does not answer included.
    @Test func aStopOfSeveralNamesEndsEachAsAStopOfItsOwnWould() throws {
        try withHarness("several-stop") { h throws in
            #expect(try h.startService("plain").code == 0)
            #expect(try h.startService("slow", service: ["--ignore-term"]).code == 0)
            #expect(try h.startService("hung").code == 0)
            #expect(try h.startService("exec", ["--no-supervise"], service: ["--ignore-term"]).code == 0)
            let hung = try #require(h.lockHolder("hung"))
            kill(hung, SIGSTOP)
            let stop = try h.spawnSwiftd(["stop", "plain", "slow", "gone", "exec", "hung", "--timeout", "1s"])
            // For most of the first second, slow, exec and hung are all being stopped.
            let seen = namesGivenASwiftdOfTheirOwn(by: stop.pid, "stop")
            #expect(seen == ["exec"], "only exec mode needs a swiftd of its own: \(seen)")
            let result = stop.wait(timeout: 60)
            #expect(result.code == 0, "\(result)")
            #expect(result.stdout == "plain stopped\nslow stopped\ngone is not running\nexec stopped\n"
                    + "hung stopped (its supervisor did not answer and was killed)\n", "\(result)")
            #expect(h.scratch.markedProcesses().isEmpty)
            let status = try h.swiftd(["status", "plain", "slow", "exec", "hung"])
            #expect(status.code == 3 && status.stdout == "plain: stopped\nslow: stopped\nexec: stopped\nhung: stopped\n", "\(status)")
        }
    }

    /// A start of several names forks each supervised service's supervisor
    /// in the command itself and waits for their reports together; exec
    /// mode goes to a swiftd of its own. Each ends as a start of its own
    /// would, and a supervisor that reported a failure has exited, with
    /// everything of its service, when the command ends.
    @Test func aStartOfSeveralNamesEndsEachAsAStartOfItsOwnWould() throws {
        try withHarness("several-start") { h throws in
            let service = "\(h.fixturePath) service"
            try h.writeConfig("plain", "command = \(service)\n")
            try h.writeConfig("failing", "command = \(service) --fork 2 --exit 3 --after 300\n")
            try h.writeConfig("exec", "command = \(service)\nno-supervise = yes\n")
            try h.writeConfig("other", "command = \(service)\n")
            let start = try h.spawnSwiftd(["start", "plain", "failing", "exec", "other", "--min-uptime", "1s"])
            // For most of the first second, all four are being started.
            let seen = namesGivenASwiftdOfTheirOwn(by: start.pid, "start")
            #expect(seen == ["exec"], "only exec mode needs a swiftd of its own: \(seen)")
            let result = start.wait(timeout: 60)
            #expect(result.code == 1, "\(result)")
            let plain = try #require(h.pid("plain")), exec = try #require(h.pid("exec")), other = try #require(h.pid("other"))
            #expect(result.stdout == "plain started (pid \(plain))\nexec started (pid \(exec))\nother started (pid \(other))\n", "\(result)")
            #expect(result.stderr.hasPrefix("swiftd: failing failed to start: exited with status 3"), "\(result)")
            // Nothing of the failed one is left: neither its supervisor nor its service's children.
            #expect(h.lockHolder("failing") == nil)
            let status = try h.swiftd(["status", "failing"])
            #expect(status.code == 1 && status.stdout.hasPrefix("failing: failed to start: exited with status 3"), "\(status)")
            #expect(try h.swiftd(["stop", "plain", "exec", "other"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// A supervisor is titled `swiftd: NAME` in `ps` and its command line,
    /// with nothing of the other names a start of several was given.
    @Test func aSupervisorOfSeveralIsTitledWithItsOwnNameOnly() throws {
        try withHarness("several-title") { h throws in
            let names = (1...40).map { "titled\($0)" }
            #expect(try h.swiftd(["start"] + names + ["--min-uptime", "0", "--", h.fixturePath, "service"]).code == 0)
            for name in ["titled1", "titled20", "titled40"] {
                let supervisor = try #require(h.lockHolder(name))
                let line = (try? FileSystem.read("/proc/\(supervisor)/cmdline", limit: 65536)) ?? []
                let shown = String(decoding: line.split(separator: 0, omittingEmptySubsequences: false).first ?? [], as: UTF8.self)
                #expect(shown == "swiftd: \(name)", "\(name): \(line.count) bytes")
                #expect(!line.dropFirst(shown.utf8.count).contains { $0 != 0 }, "\(name): only the title: \(line.count) bytes")
            }
            #expect(try h.swiftd(["stop"] + names).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    /// Each of several names is started as if alone: a service started with
    /// others must be given exactly what one started alone is
    /// (no descriptor of the command or of a sibling's pipes).
    @Test(arguments: [[], ["--no-supervise"]])
    func aServiceStartedWithOthersIsGivenWhatOneStartedAloneIs(_ mode: [String]) throws {
        try withHarness("several-alike") { h throws in
            for name in ["alone", "one", "two", "three"] {
                try h.writeConfig(name, "command = \(h.fixturePath) service --describe \(h.scratch.file(name + ".described"))\n")
            }
            #expect(try h.swiftd(["start", "alone"] + mode).code == 0)
            let several = try h.swiftd(["start", "one", "two", "three"] + mode)
            #expect(several.code == 0, "\(several)")
            func described(_ name: String) -> [String: String] {
                var values: [String: String] = [:]
                _ = eventually { values = keyValues(h.text(name + ".described")); return values["fds"] != nil }
                return values
            }
            let alone = described("alone")
            #expect(alone["fds"] != nil, "\(alone)")
            for name in ["one", "two", "three"] {
                let values = described(name)
                #expect(values["fds"] == alone["fds"], "\(name): \(values) against \(alone)")
                for fd in (alone["fds"] ?? "").split(separator: ",") where Int(fd) ?? 0 > 2 {
                    // The lock of exec mode: its own pidfile, as alone.
                    #expect(values["fd\(fd)"] == h.pidFile(name), "\(name): \(values)")
                }
                #expect((values["sid"] == values["pid"]) == (alone["sid"] == alone["pid"]), "\(name): \(values)")
            }
            #expect(try h.swiftd(["stop", "alone", "one", "two", "three"]).code == 0)
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }

    @Test func quietPrintsNothingOnSuccessAndEverythingOnFailure() throws {
        try withHarness("quiet") { h throws in
            let start = try h.swiftd(["-q", "start", "job", "--", h.fixturePath, "service"])
            #expect(start.code == 0 && start.stdout.isEmpty && start.stderr.isEmpty, "\(start)")
            let status = try h.swiftd(["status", "job", "--quiet"])
            #expect(status.code == 0 && status.stdout.isEmpty, "\(status)")
            let again = try h.swiftd(["start", "-q", "other", "--", "/nonexistent/program"])
            #expect(again.code == 5 && again.stderr.contains("/nonexistent/program"), "\(again)")
            let stop = try h.swiftd(["stop", "job", "-q"])
            #expect(stop.code == 0 && stop.stdout.isEmpty, "\(stop)")
            let stopped = try h.swiftd(["status", "job", "-q"])
            #expect(stopped.code == 3 && stopped.stdout == "job: stopped\n", "a failure still says why: \(stopped)")
        }
    }

    @Test func forgetRemovesAStoppedServiceAndRefusesARunningOne() throws {
        try withHarness("forget") { h throws in
            #expect(try h.startService("old").code == 0)
            let running = try h.swiftd(["forget", "old"])
            #expect(running.code == 1 && running.stderr.contains("old is running (pid \(h.pid("old") ?? 0)): stop it first"), "\(running)")
            #expect(try h.swiftd(["stop", "old"]).code == 0)
            #expect(try h.swiftd(["list"]).stdout.contains("\nold "))
            let forget = try h.swiftd(["forget", "old"])
            #expect(forget.code == 0 && forget.stdout == "old forgotten\n", "\(forget)")
            #expect(!FileSystem.exists(Path.join(h.runDirectory, "old.state")) && !FileSystem.exists(h.pidFile("old")))
            #expect(!(try h.swiftd(["list"]).stdout.contains("old")))
            let unknown = try h.swiftd(["forget", "old"])
            #expect(unknown.code == 0 && unknown.stdout == "nothing recorded for old\n", "\(unknown)")
        }
    }

    @Test func aTemplateServesEveryInstance() throws {
        try withHarness("template") { h throws in
            try h.writeConfig("web@", "command = \(h.fixturePath) service --describe \(h.scratch.file("%i.txt"))\nenv = INSTANCE=%i-100%%\n")
            try h.writeConfig("web@3", "command = \(h.fixturePath) service --describe \(h.scratch.file("own.txt"))\n")
            let start = try h.swiftd(["start", "web@1", "web@2", "web@3"])
            #expect(start.code == 0, "\(start)")
            #expect(eventually { FileSystem.exists(h.scratch.file("1.txt")) && FileSystem.exists(h.scratch.file("2.txt")) })
            #expect(h.text("2.txt").contains("INSTANCE=2-100%"), "%i and %% replaced: \(h.text("2.txt"))")
            #expect(eventually { FileSystem.exists(h.scratch.file("own.txt")) }, "web@3.conf wins over the template")
            // An edited template: the restarted instance runs with it, the others as they were.
            let first = try #require(h.pid("web@1"))
            try h.writeConfig("web@", "command = \(h.fixturePath) service --describe \(h.scratch.file("%i.txt"))\nenv = INSTANCE=%i-edited\n")
            #expect(try h.swiftd(["restart", "web@2"]).code == 0)
            #expect(eventually { h.text("2.txt").contains("INSTANCE=2-edited") }, "restart reads the template again: \(h.text("2.txt"))")
            #expect(h.pid("web@1") == first && h.text("1.txt").contains("INSTANCE=1-100%"), "\(h.text("1.txt"))")
            #expect(try h.swiftd(["stop", "web@1", "web@2", "web@3"]).code == 0)
        }
    }

    @Test func startAfterStopUsesTheRecordedCommand() throws {
        try withHarness("start-again") { h throws in
            let stamp = h.scratch.file("stamp")
            #expect(try h.startService("again", service: ["--stamp", stamp]).code == 0)
            #expect(try h.swiftd(["stop", "again"]).code == 0)
            let start = try h.swiftd(["start", "again"])
            #expect(start.code == 0, "not 'not configured': \(start)")
            #expect(eventually { h.text("stamp").split(separator: "\n").filter { $0.hasPrefix("start ") }.count == 2 })
            #expect(try h.swiftd(["stop", "again"]).code == 0)
        }
    }

    @Test func aShellScriptWithASlashIsNotTakenForAPath() throws {
        try withHarness("shell-slash") { h throws in
            let out = h.scratch.file("out")
            let start = try h.swiftd(["start", "script", "--shell", "--", "echo hello/world > \(out); exec sleep 100"])
            #expect(start.code == 0, "\(start)")
            #expect(eventually { h.text("out") == "hello/world\n" })
            #expect(try h.swiftd(["stop", "script"]).code == 0)
        }
    }

    @Test func reloadSaysItSentTheSignalNotThatItReloaded() throws {
        try withHarness("reload-words") { h throws in
            #expect(try h.startService("web").code == 0)
            let reload = try h.swiftd(["reload", "web"])
            #expect(reload.code == 0 && reload.stdout == "sent HUP to web (pid \(h.pid("web") ?? 0)), its reload signal\n", "\(reload)")
        }
    }

    @Test func runHelpDoesNotOfferExecMode() throws {
        let help = try run(product("swiftd"), ["help", "run"])
        #expect(help.code == 0 && !help.stdout.contains("--no-supervise"), "\(help)")
        #expect(try run(product("swiftd"), ["help", "start"]).stdout.contains("--no-supervise"))
    }

    /// For 0.8 s, the names that the several-names command `pid` hands to a
    /// `swiftd WORD NAME ...` child of its own.
    private func namesGivenASwiftdOfTheirOwn(by pid: pid_t, _ word: String) -> Set<String> {
        var seen: Set<String> = []
        let until = Monotonic.now() + 800_000_000
        while Monotonic.now() < until {
            // Read each time: the command itself may not be past its own execve at first.
            let own = (try? FileSystem.read("/proc/\(pid)/cmdline", limit: 4096)) ?? []
            for child in ProcessTable.children(of: pid) {
                let words = (try? FileSystem.read("/proc/\(child)/cmdline", limit: 4096)) ?? []
                // A child forked, or not yet past its execve, shows the command's own words; a supervisor, its title.
                let parts = words.split(separator: 0)
                guard words != own, parts.dropFirst().first.map({ String(decoding: $0, as: UTF8.self) }) == word else { continue }
                if let name = parts.dropFirst(2).first { seen.insert(String(decoding: name, as: UTF8.self)) }
            }
            Monotonic.sleep(nanoseconds: 5_000_000)
        }
        return seen
    }
}
