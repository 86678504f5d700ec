// restarter COMMAND [ARGS...]: runs COMMAND again for as long as it exits
// with 75 ("restart me", EX_TEMPFAIL), then exits with its status.
import Daemonize
import Glibc

let command = Array(CommandLine.arguments.dropFirst())
guard let executable = command.first else {
    complain("usage: restarter COMMAND [ARGS...]")
    exit(2)
}
let configuration = LaunchConfiguration(executable: executable, arguments: Array(command.dropFirst()))
while true {
    let status = try Launcher.launch(configuration).wait()
    if status != .exited(75) { exit(status.shellStatus) }
}

/// Writes `message` and a newline to standard error.
func complain(_ message: String) {
    let line = message + "\n"
    _ = write(2, line, line.utf8.count)
}
