// supervise [--pidfile FILE] [--watch PATH] COMMAND [ARGS...]: supervises
// COMMAND in the foreground with the machinery swiftd uses, but no run
// directory or state file: it is respawned at once only when it exits with
// 75, and supervise exits with its last status.
import Daemonize
import Glibc

var arguments = Array(CommandLine.arguments.dropFirst())
var pidFile: String?
var watch: [String] = []
while let option = arguments.first, option.hasPrefix("--"), arguments.count > 1 {
    if option == "--pidfile" { pidFile = arguments[1] } else if option == "--watch" { watch.append(arguments[1]) }
    arguments.removeFirst(2)
}
var configuration = ServiceConfiguration(name: ServiceName("supervised")!)
configuration.command = arguments
configuration.restart = .no
configuration.restartExitCode = 75
configuration.watch = watch
configuration.minUptime = .zero
do {
    try Supervisor.run(configuration, pidFile: pidFile)
} catch {
    complain("supervise: \(error)")
    exit(1)
}

/// Writes `message` and a newline to standard error.
func complain(_ message: String) {
    let line = message + "\n"
    _ = write(2, line, line.utf8.count)
}
