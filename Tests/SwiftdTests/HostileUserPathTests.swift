import Glibc
import Daemonize
import TestSupport
import Testing

/// Another local user racing the paths swiftd creates, opens or changes
/// after the start, played by the real user `swiftd-test` (SECURITY.md,
/// "Any other local user"): whatever it swaps into a name it can write, root
/// never changes, opens, probes or removes another file through that name.
@Suite(.requires(.hostileUser), .timeLimit(.minutes(5)))
struct HostileUserPathTests {
    /// `--listen unix:PATH,owner=U,mode=M` in a directory U can write: U
    /// swaps the new socket with a symlink to a root-owned file, or with a
    /// root-owned file of that directory, between root's calls.
    @Test(arguments: [false, true])
    func aRacingUserNeverGetsASocketsModeOrOwnerOntoAnotherFile(file: Bool) throws {
        try withUserHarness("race-socket") { h, user throws in
            let outcome = try raceSocketFile(h, user, rounds: 20, file: file)
            #expect(outcome.problems.isEmpty, "\(outcome.problems)")
            #expect(outcome.exchanges > 0, "the racer swapped the socket's file")
            #expect(outcome.started > 0, "some starts worked while it raced")
            #expect(h.scratch.markedProcesses().isEmpty)
        }
    }
}
