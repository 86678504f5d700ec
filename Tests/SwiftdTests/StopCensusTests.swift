import Testing
import Glibc
import Daemonize
import TestSupport

/// The supervisor walks its tree as a stop step begins and then reads only
/// its own children (issue 29). What that must still find, and what it must
/// never touch.
@Suite(.hangLimit) struct StopCensusTests {
    /// The supervisor's stop: processes its service forks while it stops
    /// (adopted by the supervisor once their parent exits) get the step's
    /// signal, not only the next step's KILL; a hundred children all go.
    @Test func theSupervisorSignalsWhatItsServiceForksWhileStopping() throws {
        try withHarness("census-supervised") { h throws in
            let late = h.scratch.file("late")
            #expect(try h.startService("x", ["--min-uptime", "0", "--stop-timeout", "20s"],
                                       service: ["--fork", "100", "--fork-on-term", late]).code == 0)
            #expect(eventually { h.processes(named: "fixture").count == 101 })
            let outsider = try stranger(h, "outsider")
            let result = try h.swiftd(["stop", "x"])
            #expect(result.code == 0 && result.stdout == "x stopped\n", "\(result)")
            #expect(h.text("late.signals") == "TERM\n", "forked during the stop, it got TERM: \(h.text("late.signals"))")
            #expect(h.scratch.markedProcesses() == [outsider.pid], "left: \(h.scratch.markedProcesses())")
            let got = h.recordedSignals(of: outsider.pid, in: h.scratch.file("outsider"))
            #expect(got == [], "\(String(describing: got))")
        }
    }

    /// A process started for the test after the service, in a session of its
    /// own (`setsid --fork`): the fixture recording the signals it gets in
    /// the scratch file `name`. Returns its name and pid.
    private func stranger(_ h: Harness, _ name: String) throws -> (name: String, pid: pid_t) {
        let stamp = h.scratch.file(name + ".stamp")
        let script = "exec '\(h.fixturePath)' service --record-signals '\(h.scratch.file(name))' --stamp '\(stamp)'"
        _ = try Spawned.start("/usr/bin/setsid", ["--fork", "/bin/sh", "-c", script], environment: h.scratch.environment).wait(timeout: 10)
        #expect(eventually { h.text(name + ".stamp").hasPrefix("start ") })
        let pid = try #require(pid_t(h.text(name + ".stamp").split(separator: " ")[1]))
        return (name, pid)
    }
}
