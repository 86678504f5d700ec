// pidfiles [CASE...]: FreeBSD's pidfile(3) test cases (lib/libutil/tests/
// pidfile_test.c) re-expressed with PIDFile, plus the fork and exec
// hand-overs pidfile(3) leaves out. Prints "ok CASE" or "FAIL CASE: why"
// for each; exits 1 if any failed. Each case forks real processes (this
// program has one thread) and works in a directory of its own.
import Daemonize
import Glibc

if CommandLine.arguments.count == 4 && CommandLine.arguments[1] == "--adopted" {
    Cases.adoptedAfterExec(path: CommandLine.arguments[2], report: CInt(CommandLine.arguments[3])!)
}

let requested = Array(CommandLine.arguments.dropFirst())
var failed = 0
for (name, body) in Cases.all where requested.isEmpty || requested.contains(name) {
    let directory = Cases.scratch(name)
    let result: String?
    do {
        result = try body(directory)
    } catch {
        result = "threw \(type(of: error)): \(error)"
    }
    Cases.cleanUp()
    if let result {
        print("FAIL \(name): \(result)")
        failed += 1
    } else {
        print("ok \(name)")
    }
    fflush(nil)
}
exit(failed == 0 ? 0 : 1)
