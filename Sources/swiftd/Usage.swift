import Daemonize

/// Help texts: `swiftd help`, `swiftd help COMMAND`, `--help` on every command.
enum Usage {
    static let version = "swiftd 0.1.0"

    static let summary = """
    usage: swiftd COMMAND [ARGS...]

    Start, stop and watch over any command as a daemon, with a locked pidfile.

    commands:
      start   NAME [OPTIONS] [-- COMMAND [ARG...]]   start NAME in the background
      stop    NAME [--timeout DURATION] [--signal SIGNAL]
      restart NAME [OPTIONS]                          stop, then start with the recorded command
      status  [NAME] [--json]                         LSB status: 0 running, 1 dead, 3 stopped, 4 unknown
      reload  NAME                                    send the reload signal (HUP)
      signal  NAME SIGNAL                             send SIGNAL to the service
      list    [--json]                                every service in the run dir
      logs    NAME [-n LINES] [-f]                    print (and follow) the service's log
      run     NAME [OPTIONS] [-- COMMAND [ARG...]]   supervise in the foreground
      check   NAME                                    validate NAME.conf, print the effective settings
      help    [COMMAND]

    every command takes --run-dir DIR, --log-dir DIR, --config-dir DIR.
    'swiftd help start' lists the start options.
    """

    static func help(for command: String) -> String? {
        switch command {
        case "start": return startHelp(verb: "start", about: "Starts NAME in the background and returns once it runs (exit 0), or says why it does not.")
        case "run": return startHelp(verb: "run", about: """
            Supervises NAME in the foreground: output goes to swiftd's own stdout and stderr unless --log is
            given; TERM and INT stop the service, HUP QUIT USR1 USR2 are passed on; exits with the service's
            status (128+N when killed by signal N). Exits 1 when NAME is already running.
            """)
        case "restart": return """
            usage: swiftd restart NAME [OPTIONS]

            Stops NAME (if it runs) and starts it again with the command and options recorded at its last
            start (re-reading NAME.conf when it came from one); OPTIONS are start options that override them.
            """
        case "stop": return """
            usage: swiftd stop NAME [--timeout DURATION] [--signal SIGNAL]

            Sends the stop signal to every process of NAME, SIGKILL after the timeout, and returns once none is
            left. Exit 0 when stopped or not running, 1 when it could not be stopped.

              --timeout DURATION   how long to wait before SIGKILL (default: the service's stop-timeout)
              --signal SIGNAL      the signal to send (default: the service's stop-signal)
            """
        case "status": return """
            usage: swiftd status [NAME] [--json]

            One line per service (name, state, pid, uptime, restarts), or JSON. Exit 0 running, 1 dead with a
            pidfile or failure record left, 3 not running, 4 unknown. Without NAME: every service in the run
            dir, exit 0 only when all of them run.
            """
        case "reload": return """
            usage: swiftd reload NAME

            Sends NAME its reload signal (HUP unless --reload-signal said otherwise). Exit 3 when not running.
            """
        case "signal": return """
            usage: swiftd signal NAME SIGNAL

            Sends SIGNAL (TERM, SIGTERM or 15) to NAME's main process. Exit 3 when not running.
            """
        case "list": return """
            usage: swiftd list [--json]

            Every service the run dir knows of, with its state.
            """
        case "logs": return """
            usage: swiftd logs NAME [-n LINES] [-f]

              -n, --lines LINES    how many of the last lines to print (default 10)
              -f, --follow         keep printing what is appended, across rotation
            """
        case "check": return """
            usage: swiftd check NAME [OPTIONS]

            Reads NAME.conf (or finds NAME in PATH), applies OPTIONS, and prints every effective setting with
            where it came from. Exit 0 when valid, 6 when not.
            """
        case "help": return "usage: swiftd help [COMMAND]"
        default: return nil
        }
    }

    static func startHelp(verb: String, about: String) -> String {
        var text = """
        usage: swiftd \(verb) NAME [OPTIONS] [-- COMMAND [ARG...]]

        \(about)

        Without -- COMMAND, NAME is looked up as NAME.conf in the config dir, then as an executable in PATH.

        options:

        """
        for key in ServiceConfiguration.keys where key.name != "command" {
            let left = key.kind == .flag ? "--\(key.name)" : "--\(key.name) \(key.placeholder)"
            let padded = left + String(repeating: " ", count: max(1, 36 - left.count))
            let defaultText = key.defaultValue.isEmpty || key.kind == .flag ? "" : " [\(key.defaultValue)]"
            text += "  \(padded)\(key.summary)\(defaultText)\n"
        }
        text += "\ndurations: 250ms, 10s, 5m, 1h (a bare number is seconds); sizes: 512K, 10M, 1G; signals: TERM, SIGTERM, 15."
        return text
    }
}
