import Glibc
import Daemonize

/// One command of the CLI, defined once: how its arguments parse, its line
/// in `swiftd help`, its help text, and what it does. Adding a command is one
/// entry in `Command.all`.
struct Command {
    let name: String
    private let positionals: [String]
    private let minimum: Int
    private let acceptsCommand: Bool
    private let repeatsLast: Bool
    /// Built when the command runs: the start options come from the key table.
    private let options: @Sendable () -> [OptionSpec]
    /// Its line in `swiftd help`.
    let line: String
    /// `swiftd help NAME` and `swiftd NAME --help`.
    let help: @Sendable () -> String
    let run: @Sendable (ParsedArguments, ServiceController) throws -> Int32

    init(_ name: String, _ positionals: [String], minimum: Int, options: @escaping @Sendable @autoclosure () -> [OptionSpec] = [],
         acceptsCommand: Bool = false, repeatsLast: Bool = false, line: String, help: @escaping @Sendable () -> String,
         run: @escaping @Sendable (ParsedArguments, ServiceController) throws -> Int32) {
        self.name = name
        self.positionals = positionals
        self.minimum = minimum
        self.options = options
        self.acceptsCommand = acceptsCommand
        self.repeatsLast = repeatsLast
        self.line = line
        self.help = help
        self.run = run
    }

    /// How its arguments parse.
    var spec: CommandSpec {
        CommandSpec(name: name, positionals: positionals, minimumPositionals: minimum, options: options(), acceptsCommand: acceptsCommand,
                    repeatsLast: repeatsLast)
    }

    /// The command named `name`.
    static func named(_ name: String) -> Command? { all.first { $0.name == name } }

    static let startOptions: [OptionSpec] = ServiceConfiguration.keys.filter { $0.name != "command" }.map {
        OptionSpec(long: $0.name, takesValue: $0.kind != .flag)
    }

    /// Every command, in the order `swiftd help` lists them.
    static let all: [Command] = [
        Command("start", ["NAME"], minimum: 1, options: startOptions, acceptsCommand: true, repeatsLast: true,
                line: "start   NAME... [OPTIONS] [-- COMMAND [ARG...]] start NAME in the background",
                help: { Usage.startHelp(verb: "start", about: """
                Starts NAME in the background and returns once it runs (exit 0), or says why it does not. Several
                names are started side by side, each as if alone; the exit code is the highest of theirs.
                """) },
                run: { try Actions.start($0, $1) }),
        Command("stop", ["NAME"], minimum: 1, options: [OptionSpec(long: "timeout", takesValue: true), OptionSpec(long: "signal", takesValue: true)],
                repeatsLast: true,
                line: "stop    NAME... [--timeout DURATION] [--signal SIGNAL]",
                help: { """
                usage: swiftd stop NAME... [--timeout DURATION] [--signal SIGNAL]

                Sends the stop signal to every process of NAME (or follows its stop-signal schedule and kill-mode),
                SIGKILL after the timeout, and returns once none is left. Exit 0 when stopped or not running, 1 when
                it could not be stopped. Several names are stopped side by side; the exit code is the highest of
                theirs.

                  --timeout DURATION   SIGKILL at the latest this long after the stop began (default: the
                                       service's stop-timeout after its last stop signal)
                  --signal SIGNAL      this one signal instead of the service's stop-signal
                """ },
                run: { try Actions.stop($0, $1) }),
        Command("restart", ["NAME"], minimum: 1, options: startOptions, repeatsLast: true,
                line: "restart NAME... [OPTIONS]                       stop, then start with the recorded command",
                help: { """
                usage: swiftd restart NAME... [OPTIONS]

                Stops NAME (if it runs) and starts it again with the command and options recorded at its last
                start (re-reading NAME.conf when it came from one); OPTIONS are start options that override them.
                The result is checked first, as check does: when it is wrong (an unknown user, a missing env file,
                chroot or command...), NAME runs on untouched and restart exits with start's code and why.
                """ },
                run: { try Actions.restart($0, $1) }),
        Command("status", ["NAME"], minimum: 0, options: [OptionSpec(long: "json", takesValue: false)], repeatsLast: true,
                line: "status  [NAME...] [--json]                      LSB status: 0 running, 1 dead, 3 stopped, 4 unknown",
                help: { """
                usage: swiftd status [NAME...] [--json]

                One line per service (name, state, pid, uptime, restarts), or JSON. Exit 0 running, 1 dead with a
                pidfile or failure record left, 3 not running, 4 unknown; for several names, the highest. Without
                NAME: every service in the run dir, exit 0 only when all of them run.
                """ },
                run: { try Actions.status($0, $1) }),
        Command("reload", ["NAME"], minimum: 1,
                line: "reload  NAME                                    send the reload signal (HUP)",
                help: { """
                usage: swiftd reload NAME

                Sends NAME its reload signal (HUP unless --reload-signal said otherwise). Exit 3 when not running.
                """ },
                run: { try Actions.reload($0, $1) }),
        Command("signal", ["NAME", "SIGNAL"], minimum: 2,
                line: "signal  NAME SIGNAL                             send SIGNAL to the service",
                help: { """
                usage: swiftd signal NAME SIGNAL

                Sends SIGNAL (TERM, SIGTERM or 15) to NAME's main process. Exit 3 when not running.
                """ },
                run: { try Actions.signal($0, $1) }),
        Command("reopen", ["NAME"], minimum: 1,
                line: "reopen  NAME                                    reopen the log (after logrotate moved it)",
                help: { """
                usage: swiftd reopen NAME

                Asks NAME's supervisor to close and reopen its log file (with log = syslog, to connect to syslog
                again), and returns once it has: use it in logrotate's postrotate. Works under start and run.
                Exit 0 reopened, 1 NAME runs without a supervisor (--no-supervise: use copytruncate) or did not
                answer, 3 not running, 4 no permission.
                """ },
                run: { try Actions.reopen($0, $1) }),
        Command("list", [], minimum: 0, options: [OptionSpec(long: "json", takesValue: false)],
                line: "list    [--json]                                every service in the run dir",
                help: { """
                usage: swiftd list [--json]

                Every service the run dir knows of, with its state.
                """ },
                run: { try Actions.list($0, $1) }),
        Command("logs", ["NAME"], minimum: 1,
                options: [OptionSpec(long: "lines", short: "n", takesValue: true), OptionSpec(long: "follow", short: "f", takesValue: false)],
                line: "logs    NAME [-n LINES] [-f]                    print (and follow) the service's log",
                help: { """
                usage: swiftd logs NAME [-n LINES] [-f]

                  -n, --lines LINES    how many of the last lines to print (default 10)
                  -f, --follow         keep printing what is appended, across rotation
                """ },
                run: { try Actions.logs($0, $1) }),
        Command("run", ["NAME"], minimum: 1, options: startOptions, acceptsCommand: true,
                line: "run     NAME [OPTIONS] [-- COMMAND [ARG...]]   supervise in the foreground",
                help: { Usage.startHelp(verb: "run", about: """
                Supervises NAME in the foreground: output goes to swiftd's own stdout and stderr unless --log FILE
                is given (no log file or dir is made otherwise), and swiftd prints nothing of its own while all goes
                well. TERM stops the service (its stop-signal), INT stops it with INT, HUP QUIT USR1 USR2 are passed
                on; exits with the service's status (128+N when killed by signal N); a job that exits 0 within
                --min-uptime succeeded. Exits 1 (or --busy-exit-code N) when NAME is already running, silently
                with -q. As PID 1 with neither --restart nor --restart-exit-code set, runs the command once.
                """) },
                run: { try Actions.run($0, $1) }),
        Command("check", ["NAME"], minimum: 1, options: startOptions,
                line: "check   NAME                                    validate NAME.conf, print the effective settings",
                help: { """
                usage: swiftd check NAME [OPTIONS]

                Reads NAME.conf (or finds NAME in PATH), applies OPTIONS, checks the result as start and restart
                do (user, group, env files, chroot, limits, command, working directory, listen addresses, log;
                nothing is created), and prints every effective setting with where it came from. Exit 0 when
                valid, 6 when not.
                """ },
                run: { try Actions.check($0, $1) }),
        Command("forget", ["NAME"], minimum: 1,
                line: "forget  NAME                                    remove what is left of a stopped or failed service",
                help: { """
                usage: swiftd forget NAME

                Removes NAME's record and pidfile from the run dir (and stops any process a dead instance left),
                so that list no longer shows it. Its log stays. Exit 0 when forgotten (or nothing was recorded),
                1 while it runs: stop it first.
                """ },
                run: { try Actions.forget($0, $1) }),
        Command("help", ["COMMAND"], minimum: 0,
                line: "help    [COMMAND]",
                help: { "usage: swiftd help [COMMAND]" },
                run: { try Actions.help($0, $1) }),
    ]
}
