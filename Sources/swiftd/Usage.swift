import Glibc
import Daemonize

/// Help texts: `swiftd help`, and the start options' help, both built from
/// the tables they describe (`Command.all`, `ServiceConfiguration.keys`).
enum Usage {
    static let version = "swiftd 0.1.0"

    static var summary: String {
        """
        usage: swiftd COMMAND [ARGS...]

        Start, stop and watch over any command as a daemon, with a locked pidfile.

        commands:
        \(Command.all.map { "  " + $0.line }.joined(separator: "\n"))

        every command takes \(ArgumentParser.global.filter(\.takesValue).map { "--\($0.long) DIR" }.joined(separator: ", ")),
        and -q (--quiet), which prints nothing when all went well.
        'swiftd help start' lists the start options.
        """
    }

    static func startHelp(verb: String, about: String) -> String {
        var text = """
        usage: swiftd \(verb) NAME [OPTIONS] [-- COMMAND [ARG...]]

        \(about)

        Without -- COMMAND, NAME is looked up as NAME.conf in the config dir, then as an executable in PATH.

        options:

        """
        // run always supervises: exec mode is start's alone; a busy exit code is run's alone.
        let notHere = verb == "run" ? "no-supervise" : "busy-exit-code"
        for key in ServiceConfiguration.keys where key.name != "command" && key.name != notHere {
            let left = key.kind == .flag ? "--\(key.name)" : "--\(key.name) \(key.placeholder)"
            let padded = left + String(repeating: " ", count: max(1, 36 - left.count))
            let defaultText = key.defaultValue.isEmpty || key.kind == .flag ? "" : " [\(key.defaultValue)]"
            text += "  \(padded)\(key.summary)\(defaultText)\n"
        }
        text += "\ndurations: 250ms, 10s, 5m, 1h (a bare number is seconds); sizes: 512K, 10M, 1G; signals: TERM, SIGTERM, 15."
        return text
    }
}
