/// A signal number, parsed from "TERM", "SIGTERM" or "15" and printed by name.
public struct Signal: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The signal number.
    public let rawValue: Int32

    /// Wraps a signal number (not validated).
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let hangup = Signal(rawValue: SIGHUP)
    public static let interrupt = Signal(rawValue: SIGINT)
    public static let quit = Signal(rawValue: SIGQUIT)
    public static let kill = Signal(rawValue: SIGKILL)
    public static let user1 = Signal(rawValue: SIGUSR1)
    public static let user2 = Signal(rawValue: SIGUSR2)
    public static let pipe = Signal(rawValue: SIGPIPE)
    public static let alarm = Signal(rawValue: SIGALRM)
    public static let terminate = Signal(rawValue: SIGTERM)
    public static let child = Signal(rawValue: SIGCHLD)
    public static let `continue` = Signal(rawValue: SIGCONT)
    public static let stop = Signal(rawValue: SIGSTOP)

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
        guard let entry = Signal.names.first(where: { $0.0 == name }) else { return nil }
        self.init(rawValue: entry.1)
    }

    /// The name without "SIG" ("TERM"), or the number for signals without one.
    public var name: String {
        Signal.names.first(where: { $0.1 == rawValue })?.0 ?? String(rawValue)
    }

    public var description: String { name }
}
