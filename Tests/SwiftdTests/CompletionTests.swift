import Glibc
import Daemonize
import TestSupport
import Testing

/// The completions in etc/ for bash, zsh and fish, each run by its real
/// shell as shipped: the same scenarios for the three, and the start options
/// compared with the key table so that none falls behind. One suite a shell
/// (below): a shell that is not installed is skipped, and says so.
struct CompletionScenarios {
    enum Shell: String, CaseIterable, CustomStringConvertible {
        case bash, zsh, fish

        var description: String { rawValue }
        var path: String { rawValue == "bash" ? "/bin/bash" : "/usr/bin/\(rawValue)" }
        /// The shell, from its Debian package (`.ci/run` installs zsh and fish).
        var requirement: Requirement { .program(path, from: rawValue) }

        /// The shipped file.
        var sample: String {
            switch self {
            case .bash: return EtcTests.sample("bash_completion.d/swiftd")
            case .zsh: return EtcTests.sample("zsh/_swiftd")
            case .fish: return EtcTests.sample("fish/swiftd.fish")
            }
        }

        /// How the shell is asked for the completions of `words` (the last
        /// one being completed), one a line.
        var driver: [String] {
            switch self {
            case .bash:
                return ["--norc", "--noprofile", "-c", """
                    source "$1"; shift
                    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
                    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
                    _swiftd
                    printf '%s\\n' "${COMPREPLY[@]}"
                    """, "bash"]
            case .zsh:
                // The completion function with zsh's completion builtins stood
                // in for: compadd prints the candidates the current word begins.
                return ["-f", "-c", """
                    file=$1; shift
                    compadd() { local -a w; w=("$@"); local x; for x in ${w[${w[(i)--]}+1,-1]}; do [[ $x == ${cur}* ]] && print -r -- $x; done; return 0 }
                    compset() { return 0 }
                    _files() { print -r -- '<files>' }
                    _users() { print -r -- '<users>' }
                    _groups() { print -r -- '<groups>' }
                    _command_names() { print -r -- '<commands>' }
                    words=("$@"); CURRENT=$#words
                    source $file
                    """, "zsh"]
            case .fish:
                return ["--no-config", "-c", "source $argv[1]; complete -C (string join ' ' -- $argv[2..-1])"]
            }
        }
    }

    func complete(_ shell: Shell, _ words: [String], _ h: Harness) throws -> [String] {
        let environment = Environment.setting("SWIFTD_RUN_DIR", to: h.runDirectory,
                                              in: Environment.setting("SWIFTD_CONFIG_DIR", to: h.configDirectory, in: h.scratch.environment))
        // fish completes a command line: its last word is the one completed.
        let result = try run(shell.path, shell.driver + [shell.sample] + words, environment: environment)
        #expect(result.code == 0, "\(shell): \(result)")
        #expect(result.stderr.isEmpty, "\(shell): \(result)")
        return result.stdout.split(separator: "\n").map { String($0.split(separator: "\t", maxSplits: 1).first ?? "") }
    }

    func commandsOptionsAndValues(_ shell: Shell) throws {
        try withHarness("complete-\(shell)") { h throws in
            #expect(try complete(shell, ["swiftd", "st"], h).sorted() == ["start", "status", "stop"])
            #expect(try complete(shell, ["swiftd", ""], h).sorted()
                    == ["check", "forget", "help", "list", "logs", "reload", "reopen", "restart", "run", "signal", "start", "status", "stop"])
            #expect(try complete(shell, ["swiftd", "--run-dir", "/tmp", "re"], h).sorted() == ["reload", "reopen", "restart"], "global options before the command")
            #expect(try complete(shell, ["swiftd", "help", "lo"], h) == ["logs"])
            #expect(try complete(shell, ["swiftd", "start", "web", "--restart", ""], h).sorted() == ["always", "no", "on-failure"])
            #expect(try complete(shell, ["swiftd", "start", "web", "--watch-action", "re"], h).sorted() == ["reload", "restart"])
            #expect(try complete(shell, ["swiftd", "stop", "web", "--signal", "US"], h) == ["USR1", "USR2"])
            #expect(try complete(shell, ["swiftd", "signal", "web", "HU"], h) == ["HUP"])
            #expect(try complete(shell, ["swiftd", "logs", "web", "--"], h).sorted()
                    == ["--config-dir", "--follow", "--help", "--lines", "--log-dir", "--quiet", "--run-dir"])
            #expect(try complete(shell, ["swiftd", "start", "web", "--stop-timeout", ""], h).isEmpty, "no guess at a duration")
        }
    }

    func startOptionsAreExactlyTheKeys(_ shell: Shell) throws {
        try withHarness("complete-keys-\(shell)") { h throws in
            let expected = ServiceConfiguration.keys.filter { $0.name != "command" }.map { "--\($0.name)" }
                + ["--run-dir", "--log-dir", "--config-dir", "--quiet", "--help"]
            for command in ["start", "run", "restart", "check"] {
                #expect(try complete(shell, ["swiftd", command, "web", "--"], h).filter { $0 != "--" }.sorted() == expected.sorted(), "\(command)")
            }
        }
    }

    func servicesFromTheConfigAndRunDirs(_ shell: Shell) throws {
        try withHarness("complete-names-\(shell)") { h throws in
            try FileSystem.makeDirectories(h.runDirectory, mode: 0o755)
            try h.writeConfig("web", "command = /bin/true\n")
            try h.writeConfig("db", "command = /bin/true\n")
            try FileSystem.writeAtomically(Path.join(h.configDirectory, "notes.txt"), [])
            try FileSystem.writeAtomically(h.pidFile("cache"), [])
            try FileSystem.writeAtomically(Path.join(h.runDirectory, "queue.state"), [])
            try FileSystem.writeAtomically(h.pidFile("web"), [])
            #expect(try complete(shell, ["swiftd", "stop", ""], h) == ["cache", "db", "queue", "web"])
            #expect(try complete(shell, ["swiftd", "status", "c"], h) == ["cache"])
            #expect(try complete(shell, ["swiftd", "signal", ""], h) == ["cache", "db", "queue", "web"])
            // --config-dir and --run-dir on the line win over the environment.
            let other = h.scratch.file("other")
            try FileSystem.makeDirectories(other, mode: 0o755)
            try FileSystem.writeAtomically(Path.join(other, "mail.conf"), [])
            #expect(try complete(shell, ["swiftd", "--config-dir", other, "forget", ""], h) == ["cache", "mail", "queue", "web"])
            #expect(try complete(shell, ["swiftd", "status", "--run-dir", other, "--config-dir", other, ""], h) == ["mail"])
            // Several names for start, stop, restart and status; one for the others.
            #expect(try complete(shell, ["swiftd", "stop", "web", ""], h) == ["cache", "db", "queue", "web"])
            #expect(try complete(shell, ["swiftd", "logs", "web", ""], h).isEmpty)
        }
    }

}

@Suite(.requires(CompletionScenarios.Shell.bash.requirement), .hangLimit) struct BashCompletionTests {
    let scenarios = CompletionScenarios()
    @Test func commandsOptionsAndValues() throws { try scenarios.commandsOptionsAndValues(.bash) }
    @Test func startOptionsAreExactlyTheKeys() throws { try scenarios.startOptionsAreExactlyTheKeys(.bash) }
    @Test func servicesFromTheConfigAndRunDirs() throws { try scenarios.servicesFromTheConfigAndRunDirs(.bash) }

    @Test func bashRegistersItForSwiftd() throws {
        let bash = CompletionScenarios.Shell.bash
        let result = try run(bash.path, ["--norc", "--noprofile", "-c", "source \"$1\" && complete -p swiftd", "bash", bash.sample])
        #expect(result.stdout == "complete -F _swiftd swiftd\n", "\(result)")
    }
}

@Suite(.requires(CompletionScenarios.Shell.zsh.requirement), .hangLimit) struct ZshCompletionTests {
    let scenarios = CompletionScenarios()
    @Test func commandsOptionsAndValues() throws { try scenarios.commandsOptionsAndValues(.zsh) }
    @Test func startOptionsAreExactlyTheKeys() throws { try scenarios.startOptionsAreExactlyTheKeys(.zsh) }
    @Test func servicesFromTheConfigAndRunDirs() throws { try scenarios.servicesFromTheConfigAndRunDirs(.zsh) }

    @Test func zshFindsItThroughCompinit() throws {
        let zsh = CompletionScenarios.Shell.zsh
        let result = try run(zsh.path, ["-f", "-c", "fpath=(${1:h} $fpath); autoload -U compinit; compinit -u -D; print -r -- ${_comps[swiftd]}",
                                        "zsh", zsh.sample])
        #expect(result.stdout == "_swiftd\n", "\(result)")
    }
}

@Suite(.requires(CompletionScenarios.Shell.fish.requirement), .hangLimit) struct FishCompletionTests {
    let scenarios = CompletionScenarios()
    @Test func commandsOptionsAndValues() throws { try scenarios.commandsOptionsAndValues(.fish) }
    @Test func startOptionsAreExactlyTheKeys() throws { try scenarios.startOptionsAreExactlyTheKeys(.fish) }
    @Test func servicesFromTheConfigAndRunDirs() throws { try scenarios.servicesFromTheConfigAndRunDirs(.fish) }
}
