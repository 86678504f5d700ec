// autoreload PATH...: a development loop. The parent runs this same program
// as a child that serves until the content of a PATH changes, then exits
// with 75; the parent starts it again. The child's output is the parent's
// (inherited), and when the parent ends, even by SIGTERM or SIGKILL, the
// child gets SIGTERM (its parent-death signal).
import Daemonize
import Glibc

let arguments = Array(CommandLine.arguments.dropFirst())

if arguments.first == "--child" {
    let watcher = try FileWatcher(paths: Array(arguments.dropFirst()))
    print("serving (pid \(getpid()))")
    fflush(nil)
    while true {
        // The child's work would go here, between waits.
        if try watcher.waitForChange(timeout: .milliseconds(250)) {
            print("sources changed: reloading")
            fflush(nil)
            exit(75)
        }
    }
}

guard !arguments.isEmpty else {
    complain("usage: autoreload PATH...")
    exit(2)
}
var child = LaunchConfiguration(executable: "/proc/self/exe", arguments: ["--child"] + arguments, argv0: CommandLine.arguments[0])
child.parentDeathSignal = .terminate
while true {
    let status = try Launcher.launch(child).wait()
    if status != .exited(75) { exit(status.shellStatus) }
}

/// Writes `message` and a newline to standard error.
func complain(_ message: String) {
    let line = message + "\n"
    _ = write(2, line, line.utf8.count)
}
