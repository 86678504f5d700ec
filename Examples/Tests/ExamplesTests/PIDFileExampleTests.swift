import Glibc
import Testing
import Daemonize

/// FreeBSD's pidfile(3) cases and the fork and exec hand-overs, as a program
/// of a library user runs them (Examples/Sources/pidfiles).
@Suite(.hangLimit)
struct PIDFileExampleTests {
    static let cases = ["uncontested", "self", "contested", "inherited-close", "inherited-release", "inherited-drop",
                        "relative", "stale", "exec-adopt", "fork-adopt", "adopt-refused", "catch-errno"]

    @Test(arguments: cases)
    func pidfileCase(_ name: String) {
        withSandbox("pidfiles") { sandbox in
            let result = sandbox.run("pidfiles", [name])
            #expect(result.code == 0, "\(result)")
            #expect(result.stdout == "ok \(name)\n", "\(result)")
            #expect(sandbox.processes().isEmpty, "every child of the case was killed")
        }
    }
}
