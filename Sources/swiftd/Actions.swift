import Glibc
import Daemonize

/// What each command does: parse its own arguments further, call the
/// library, print, return the exit code.
enum Actions {
    static func start(_ parsed: ParsedArguments, _ controller: ServiceController) throws -> Int32 {
        try refuseRunOnly(parsed, "start")
        // Several: each supervised one is started in this process, the others by a swiftd of their own.
        let starts = Several.InProcess(controller: controller, kind: .start, parsed: parsed)
        if let several = try several("start", parsed, inProcess: starts) { return several }
        return Commands.report(controller.start(try loaded(parsed, "start", controller).configuration), parsed)
    }

    /// `--busy-exit-code` says what `run` exits with when NAME already runs;
    /// `start` says "already running" with 0 (LSB), `restart` stops it first.
    static func refuseRunOnly(_ parsed: ParsedArguments, _ command: String) throws {
        guard parsed.has("busy-exit-code") else { return }
        throw UsageError(message: "--busy-exit-code is for run, not \(command)", command: command)
    }

    /// Several names: each checked now, then handled as if alone (`Several`:
    /// a swiftd of its own, or with `inProcess` a start or stop begun and
    /// waited for here).
    private static func several(_ command: String, _ parsed: ParsedArguments, inProcess: Several.InProcess? = nil) throws -> Int32? {
        guard parsed.positionals.count > 1 else { return nil }
        let names = try parsed.positionals.map { try Commands.name($0, for: command) }
        return Several.run(command, names: names, arguments: Commands.argumentsForEach(parsed), inProcess: inProcess)
    }

    static func run(_ parsed: ParsedArguments, _ controller: ServiceController) throws -> Int32 {
        let configuration = ServiceController.runConfiguration(try loaded(parsed, "run", controller))
        if !configuration.supervise {
            throw UsageError(message: "run always supervises: --no-supervise is for start", command: "run")
        }
        return controller.run(configuration, quiet: parsed.quiet)
    }

    static func check(_ parsed: ParsedArguments, _ controller: ServiceController) throws -> Int32 {
        check(try loaded(parsed, "check", controller), controller: controller)
    }

    /// The configuration of `start`, `run` and `check`: the command after
    /// `--`, else NAME.conf or NAME in PATH, with the options on top.
    private static func loaded(_ parsed: ParsedArguments, _ command: String, _ controller: ServiceController) throws -> ConfigurationLoader.Loaded {
        try loaded(try Commands.name(parsed.positionals[0], for: command), command, parsed, controller)
    }

    /// The same for `name`, one of several.
    static func loaded(_ name: ServiceName, _ command: String, _ parsed: ParsedArguments, _ controller: ServiceController) throws -> ConfigurationLoader.Loaded {
        if let words = parsed.command, words.isEmpty { throw UsageError(message: "no command after --", command: command) }
        return try ConfigurationLoader.load(name, paths: controller.paths, command: parsed.command, options: Commands.startSettings(parsed))
    }

    static func restart(_ parsed: ParsedArguments, _ controller: ServiceController) throws -> Int32 {
        try refuseRunOnly(parsed, "restart")
        if let several = try several("restart", parsed) { return several }
        let name = try Commands.name(parsed.positionals[0], for: "restart")
        let options = Commands.startSettings(parsed)
        let loaded: ConfigurationLoader.Loaded
        if let recorded = try ServiceState.read(controller.paths.stateFile(name), name: name) {
            loaded = try ConfigurationLoader.reload(recorded, paths: controller.paths, options: options)
        } else {
            loaded = try ConfigurationLoader.load(name, paths: controller.paths, command: nil, options: options)
        }
        return Commands.report(controller.restart(loaded.configuration), parsed)
    }

    static func stop(_ parsed: ParsedArguments, _ controller: ServiceController) throws -> Int32 {
        var signal: ProcessSignal?
        var timeout: Interval?
        if let text = parsed.value("signal") {
            guard let s = ProcessSignal(parsing: text) else { throw UsageError(message: "bad signal '\(text)' (expected TERM, SIGTERM or 15)", command: "stop") }
            signal = s
        }
        if let text = parsed.value("timeout") {
            guard let t = Interval(parsing: text) else { throw UsageError(message: "bad duration '\(text)' (expected 250ms, 10s, 5m, 1h)", command: "stop") }
            timeout = t
        }
        // Several: each supervised one is waited for in this process, the others by a swiftd of their own.
        let stops = Several.InProcess(controller: controller, kind: .stop(signal: signal, timeout: timeout), parsed: parsed)
        if let several = try several("stop", parsed, inProcess: stops) { return several }
        let name = try Commands.name(parsed.positionals[0], for: "stop")
        return Commands.report(controller.stop(name, signal: signal, timeout: timeout), parsed)
    }

    static func status(_ parsed: ParsedArguments, _ controller: ServiceController) throws -> Int32 {
        let statuses: [ServiceStatus]
        if parsed.positionals.isEmpty {
            statuses = controller.statuses()
        } else {
            // A bad name is reported before anything is printed.
            statuses = try parsed.positionals.map { controller.status(try Commands.name($0, for: "status")) }
        }
        // One name: its code; several: the highest; all of the run dir: the first that is not 0.
        // In place, here and below: `statuses[index]` and iterating copy each
        // status out (every field retained and released); a buffer's element
        // is read where it is.
        let code = statuses.withUnsafeBufferPointer { all in
            var code = ExitCode.success
            for index in all.indices {
                let status = all[index].exitCode
                if !parsed.positionals.isEmpty {
                    code = max(code, status)
                } else if status != ExitCode.success {
                    return status
                }
            }
            return code
        }
        if parsed.quiet && code == ExitCode.success { return code }
        if parsed.has("json") {
            Standard.print(parsed.positionals.count == 1 ? statuses[0].json.description : JSON.array(statuses.map(\.json)).description)
        } else {
            // One print for all (a print a line costs more than the line: 1,750 instructions).
            var text = ""
            statuses.withUnsafeBufferPointer { all in
                for index in all.indices {
                    text += all[index].line
                    text += "\n"
                }
            }
            Standard.print(text, terminator: "")
        }
        return code
    }

    static func forget(_ parsed: ParsedArguments, _ controller: ServiceController) throws -> Int32 {
        Commands.report(controller.forget(try Commands.name(parsed.positionals[0], for: "forget")), parsed)
    }

    static func list(_ parsed: ParsedArguments, _ controller: ServiceController) throws -> Int32 {
        let statuses = controller.statuses()
        if parsed.has("json") {
            Standard.print(JSON.array(statuses.map(\.json)).description)
        } else {
            printTable(statuses)
        }
        return 0
    }

    static func reload(_ parsed: ParsedArguments, _ controller: ServiceController) throws -> Int32 {
        Commands.report(controller.reload(try Commands.name(parsed.positionals[0], for: "reload")), parsed)
    }

    static func reopen(_ parsed: ParsedArguments, _ controller: ServiceController) throws -> Int32 {
        Commands.report(controller.reopen(try Commands.name(parsed.positionals[0], for: "reopen")), parsed)
    }

    static func signal(_ parsed: ParsedArguments, _ controller: ServiceController) throws -> Int32 {
        let name = try Commands.name(parsed.positionals[0], for: "signal")
        guard let signal = ProcessSignal(parsing: parsed.positionals[1]) else {
            throw UsageError(message: "bad signal '\(parsed.positionals[1])' (expected TERM, SIGTERM or 15)", command: "signal")
        }
        return Commands.report(controller.signal(name, signal), parsed)
    }

    static func logs(_ parsed: ParsedArguments, _ controller: ServiceController) throws -> Int32 {
        try logs(try Commands.name(parsed.positionals[0], for: "logs"), parsed, controller)
    }

    static func help(_ parsed: ParsedArguments, _ controller: ServiceController) throws -> Int32 {
        guard let topic = parsed.positionals.first else {
            Standard.print(Usage.summary)
            return 0
        }
        guard let command = Command.named(topic) else { throw UsageError(message: "no help for '\(topic)'", command: nil) }
        Standard.print(command.help())
        return 0
    }

    static func printTable(_ statuses: [ServiceStatus]) {
        var rows = [["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "COMMAND"]]
        rows.reserveCapacity(statuses.count + 1)
        for index in statuses.indices {
            let s = statuses[index]
            // While a restart overlaps, both instances: the one serving, then the other.
            let other = s.isRunning ? s.otherInstancePID.map { "+" + String($0) } ?? "" : ""
            rows.append([s.name.rawValue, s.state.rawValue, (s.pid.map(String.init) ?? "-") + other, s.uptime?.approximate ?? "-",
                         String(s.restarts), s.recordedCommand.map { Escaped.line(CommandWords.quote($0)) } ?? "-"])
        }
        // Widths by Character (a cell of ASCII by its bytes, the same count),
        // each counted once; the table built as bytes (a String append costs
        // about 340 instructions) and printed in one write.
        let counts = rows.map { $0.map { $0.utf8.allSatisfy { $0 < 0x80 } ? $0.utf8.count : $0.count } }
        var widths = [Int](repeating: 0, count: 6)
        for row in counts { for (i, count) in row.enumerated() { widths[i] = max(widths[i], count) } }
        var table: [UInt8] = []
        table.reserveCapacity(rows.count * (widths.reduce(0, +) + 12))
        for (row, rowCounts) in zip(rows, counts) {
            for (i, cell) in row.enumerated() {
                table.append(contentsOf: cell.utf8)
                if i < row.count - 1 { table.append(contentsOf: repeatElement(UInt8(ascii: " "), count: widths[i] - rowCounts[i] + 2)) }
            }
            table.append(UInt8(ascii: "\n"))
        }
        Standard.print(String(decoding: table, as: UTF8.self), terminator: "")
    }

    static func check(_ loaded: ConfigurationLoader.Loaded, controller: ServiceController) -> Int32 {
        let paths = controller.paths
        var c = loaded.configuration
        do {
            // What start, run and restart check first, all of it.
            _ = try controller.validate(&c)
        } catch let error as LaunchError {
            Standard.error("swiftd: \(c.name): \(error)")
            return ExitCode.notConfigured
        } catch {
            // Every other error describes itself by its message.
            Standard.error("swiftd: \(error)")
            return ExitCode.notConfigured
        }
        Standard.print("# \(c.name): \(c.source)")
        for key in ServiceConfiguration.keys {
            let origin = loaded.origins[key.name] ?? "default"
            // The log as the file it resolves to, not "default".
            let value = key.name == "log" ? c.logFile(in: paths) ?? "none" : c.value(of: key.name)
            Standard.print("\(key.name) = \(Escaped.line(value))  # \(origin)")
        }
        return 0
    }

    static func logs(_ name: ServiceName, _ parsed: ParsedArguments, _ controller: ServiceController) throws -> Int32 {
        var count = 10
        if let text = parsed.value("lines") {
            guard let n = Int(text), n >= 0 else { throw UsageError(message: "bad line count '\(text)'", command: "logs") }
            count = n
        }
        guard let path = controller.logFile(name) else {
            if case .syslog(let facility) = controller.logTarget(name) {
                Standard.error("swiftd: \(name) logs to syslog (facility \(facility.rawValue), tag \(name)): read it there")
            } else {
                Standard.error("swiftd: \(name) logs nowhere (log = none)")
            }
            return ExitCode.failure
        }
        do {
            // What the service printed reaches the terminal with its control characters escaped.
            // The size is taken once, before the tail: a follow starts where
            // the tail ended, in the same file, whatever is written or rotated meanwhile.
            let (file, size) = try LogReader.open(path)
            defer { file.close() }
            let tail = try LogReader.lastLines(of: file, before: size, count: count)
            try? FileDescriptor.standardOutput.writeAll(Escaped.log(tail).text)
            CrashPoint.reach("logs-after-tail")
            if parsed.has("follow") {
                var rest: [UInt8] = []
                try LogReader.follow(path, file: file, from: size) { chunk in
                    let escaped = Escaped.log(rest + chunk, final: false)
                    rest = escaped.rest
                    try? FileDescriptor.standardOutput.writeAll(escaped.text)
                }
            }
        } catch let error as SystemError {
            Standard.error("swiftd: \(name): no log: \(error)")
            return ExitCode.failure
        }
        return 0
    }
}
