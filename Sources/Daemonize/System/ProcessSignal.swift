internal import Glibc
internal import CDaemonize

/// A signal number, parsed from "TERM", "SIGTERM" or "15" and printed by name.
/// (Named so as not to clash with swift-subprocess's `Signal`.)
public struct ProcessSignal: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The signal number.
    public let rawValue: Int32

    /// Wraps a signal number (not validated).
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `SIGHUP`.
    public static let hangup = ProcessSignal(rawValue: SIGHUP)
    /// `SIGINT`.
    public static let interrupt = ProcessSignal(rawValue: SIGINT)
    /// `SIGQUIT`.
    public static let quit = ProcessSignal(rawValue: SIGQUIT)
    /// `SIGKILL`.
    public static let kill = ProcessSignal(rawValue: SIGKILL)
    /// `SIGUSR1`.
    public static let user1 = ProcessSignal(rawValue: SIGUSR1)
    /// `SIGUSR2`.
    public static let user2 = ProcessSignal(rawValue: SIGUSR2)
    /// `SIGPIPE`.
    public static let pipe = ProcessSignal(rawValue: SIGPIPE)
    /// `SIGALRM`.
    public static let alarm = ProcessSignal(rawValue: SIGALRM)
    /// `SIGTERM`.
    public static let terminate = ProcessSignal(rawValue: SIGTERM)
    /// `SIGCHLD`.
    public static let child = ProcessSignal(rawValue: SIGCHLD)
    /// `SIGCONT`.
    public static let `continue` = ProcessSignal(rawValue: SIGCONT)
    /// `SIGSTOP`.
    public static let stop = ProcessSignal(rawValue: SIGSTOP)
    /// `SIGABRT`.
    public static let abort = ProcessSignal(rawValue: SIGABRT)

    static let names: [(String, Int32)] = [
        ("HUP", SIGHUP), ("INT", SIGINT), ("QUIT", SIGQUIT), ("ILL", SIGILL), ("TRAP", SIGTRAP),
        ("ABRT", SIGABRT), ("BUS", SIGBUS), ("FPE", SIGFPE), ("KILL", SIGKILL), ("USR1", SIGUSR1),
        ("SEGV", SIGSEGV), ("USR2", SIGUSR2), ("PIPE", SIGPIPE), ("ALRM", SIGALRM), ("TERM", SIGTERM),
        ("STKFLT", SIGSTKFLT), ("CHLD", SIGCHLD), ("CONT", SIGCONT), ("STOP", SIGSTOP), ("TSTP", SIGTSTP),
        ("TTIN", SIGTTIN), ("TTOU", SIGTTOU), ("URG", SIGURG), ("XCPU", SIGXCPU), ("XFSZ", SIGXFSZ),
        ("VTALRM", SIGVTALRM), ("PROF", SIGPROF), ("WINCH", SIGWINCH), ("IO", SIGIO), ("PWR", SIGPWR),
        ("SYS", SIGSYS), ("IOT", SIGABRT), ("POLL", SIGIO), ("CLD", SIGCHLD),
    ]

    /// The signal numbered `number`, nil when no signal has that number.
    public init?(number: Int32) {
        guard number >= 1, number < dz_nsig() else { return nil }
        self.init(rawValue: number)
    }

    /// Parses "TERM", "SIGTERM", "term" or "15"; nil for anything else,
    /// including 0 and numbers past the last signal.
    public init?(parsing text: String) {
        if let first = text.utf8.first, first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") {
            guard text.utf8.count <= 3, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let n = Int32(text), n >= 1, n < dz_nsig() else { return nil }
            self.init(rawValue: n)
            return
        }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        guard let entry = ProcessSignal.names.first(where: { $0.0 == name }) else { return nil }
        self.init(rawValue: entry.1)
    }

    /// The name without "SIG" ("TERM"), or the number for signals without one.
    public var name: String {
        ProcessSignal.names.first(where: { $0.1 == rawValue })?.0 ?? String(rawValue)
    }

    /// The name, as `name`.
    public var description: String { name }
}
