import Glibc
import Daemonize
import TestSupport
import Testing

/// `--log syslog[:FACILITY]`: every line a datagram to a listener bound in
/// the scratch dir (SWIFTD_SYSLOG_SOCKET), as a syslog daemon's /dev/log.
@Suite(.hangLimit) struct SyslogTests {
    /// A datagram socket bound at a path, read by the test: a syslog daemon.
    final class Listener {
        let path: String
        private(set) var fd: Int32 = -1

        init(_ path: String) throws {
            self.path = path
            try bind()
        }

        deinit { close() }

        func bind() throws {
            unlink(path)
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            let address = try #require(NotifyAddress(path))
            guard address.withSocketAddress({ Glibc.bind(fd, $0, $1) }) == 0 else { throw SystemError("bind", path: path) }
        }

        /// The listener goes away, as a syslog daemon that stops.
        func close() {
            if fd >= 0 { Glibc.close(fd) }
            fd = -1
            unlink(path)
        }

        /// Every datagram until one contains `text` (or 20 s pass).
        func receive(until text: String) -> [String] {
            var messages: [String] = []
            let deadline = Monotonic.now() + 20_000_000_000
            var buffer = [UInt8](repeating: 0, count: 65536)
            while Monotonic.now() < deadline {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, Monotonic.millisecondsUntil(deadline)) == 1 else { break }
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 { messages.append(String(decoding: buffer[0..<n], as: UTF8.self)) }
                if messages.last?.contains(text) == true { break }
            }
            return messages
        }
    }

    func environment(_ h: Harness, _ socket: String) -> [String] {
        Environment.setting("SWIFTD_SYSLOG_SOCKET", to: socket, in: h.scratch.environment)
    }

    /// "<PRI>Mmm dd hh:mm:ss TAG[PID]: " and the message, or nil.
    func parse(_ datagram: String) -> (priority: Int, tag: String, message: String)? {
        guard datagram.hasPrefix("<"), let close = datagram.firstIndex(of: ">"), let priority = Int(datagram[datagram.index(after: datagram.startIndex)..<close]) else { return nil }
        let rest = Array(datagram[datagram.index(after: close)...])
        // "Nov 30 09:04:05 " is 16 characters.
        guard rest.count > 16, rest[3] == " ", rest[6] == " ", rest[9] == ":", rest[12] == ":", rest[15] == " " else { return nil }
        let body = String(rest[16...])
        guard let colon = body.firstRange(of: ": ") else { return nil }
        return (priority, String(body[..<colon.lowerBound]), String(body[colon.upperBound...]))
    }

    @Test func stdoutLinesAreInfoAndStderrLinesErrWithTheServiceTag() throws {
        try withHarness("syslog") { h throws in
            let listener = try Listener(h.scratch.file("log.sock"))
            let start = try h.swiftd(["start", "s", "--log", "syslog:local3", "--", h.fixturePath, "service", "--print", "2", "--print-stderr", "trouble"],
                                     environment: environment(h, listener.path))
            #expect(start.code == 0, "\(start)")
            let pid = try #require(h.pid("s"))
            let messages = listener.receive(until: "trouble").compactMap(parse)
            let local3 = 19 * 8
            #expect(messages.contains { $0.priority == local3 + 6 && $0.tag == "s[\(pid)]" && $0.message == "line 1 of 2" }, "\(messages)")
            #expect(messages.contains { $0.priority == local3 + 6 && $0.tag == "s[\(pid)]" && $0.message == "line 2 of 2" }, "\(messages)")
            #expect(messages.contains { $0.priority == local3 + 3 && $0.tag == "s[\(pid)]" && $0.message == "trouble" }, "\(messages)")
            #expect(!FileSystem.exists(h.logFile("s")), "no log file")
            let logs = try h.swiftd(["logs", "s"])
            #expect(logs.code == 1)
            #expect(logs.stderr == "swiftd: s logs to syslog (facility local3, tag s): read it there\n")
            #expect(try h.swiftd(["stop", "s"]).code == 0)
        }
    }

    @Test func theDefaultFacilityIsDaemonAndAConfigFileSaysSyslogToo() throws {
        try withHarness("syslog-conf") { h throws in
            let listener = try Listener(h.scratch.file("log.sock"))
            try h.writeConfig("s", "command = \(h.fixturePath) service --print 1 --print-stderr oops\nlog = syslog\n")
            #expect(try h.swiftd(["start", "s"], environment: environment(h, listener.path)).code == 0)
            let messages = listener.receive(until: "oops").compactMap(parse)
            #expect(messages.contains { $0.priority == 3 * 8 + 6 && $0.message == "line 1 of 1" }, "\(messages)")
            #expect(messages.contains { $0.priority == 3 * 8 + 3 && $0.message == "oops" }, "\(messages)")
        }
    }

    @Test func noListenerFailsTheStartAndABadFacilityIsRefused() throws {
        try withHarness("syslog-bad") { h throws in
            let missing = h.scratch.file("none.sock")
            let start = try h.swiftd(["start", "s", "--log", "syslog", "--", h.fixturePath, "service"], environment: environment(h, missing))
            #expect(start.code == 1, "\(start)")
            #expect(start.stderr == "swiftd: log syslog: nothing takes messages at \(missing) (No such file or directory): is a syslog daemon running?\n")
            let facility = try h.startService("s", ["--log", "syslog:kern"])
            #expect(facility.code == 2, "\(facility)")
            #expect(facility.stderr.hasPrefix("swiftd: bad value for --log: 'syslog:kern' (unknown facility 'kern'; expected one of user, mail, daemon,"))
            try h.writeConfig("s", "command = \(h.fixturePath) service\nlog = syslog:nowhere\n")
            let file = try h.swiftd(["start", "s"])
            #expect(file.code == 6, "\(file)")
            #expect(file.stderr.hasPrefix("swiftd: \(h.configDirectory)/s.conf:2: bad value for log: 'syslog:nowhere' (unknown facility 'nowhere'"))
            let exec = try h.startService("x", ["--log", "syslog", "--no-supervise"])
            #expect(exec.code == 2, "\(exec)")
            #expect(exec.stderr == "swiftd: log = syslog needs the supervisor (it cannot be used with no-supervise)\n")
            #expect(h.scratch.markedProcesses().isEmpty)
            #expect(!FileSystem.exists(h.pidFile("s")))
        }
    }

    /// A reader that stops reading loses nothing: the supervisor holds what
    /// it could not send, stops reading the service's pipe (the service waits
    /// on it), and keeps answering commands meanwhile.
    @Test func aReaderThatFallsBehindLosesNoLine() throws {
        try withHarness("syslog-slow") { h throws in
            let listener = try Listener(h.scratch.file("log.sock"))
            let lines = 20000
            let start = try h.swiftd(["start", "s", "--log", "syslog", "--", h.fixturePath, "service", "--print", "\(lines)", "--print-size", "100"],
                                     environment: environment(h, listener.path))
            #expect(start.code == 0, "\(start)")
            // Nothing read yet: the service waits on its full pipe, its supervisor does not wait.
            let pid = try #require(h.pid("s"))
            #expect(eventually { ProcFS.text("/proc/\(pid)/wchan").contains("pipe_write") }, "\(ProcFS.text("/proc/\(pid)/wchan"))")
            let reopen = try h.swiftd(["reopen", "s"], environment: environment(h, listener.path))
            #expect(reopen.code == 0, "\(reopen)")
            let received = listener.receive(until: "line \(lines) of \(lines)").compactMap(parse).map(\.message).filter { $0.hasPrefix("line ") }
            #expect(received.count == lines)
            #expect(received.map { $0.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0 } == Array(1...lines), "every line once, in order")
            let status = try h.swiftd(["status", "s", "--json"])
            #expect(status.stdout.contains("\"dropped_log_lines\":0"), "\(status)")
        }
    }

    /// A listener that goes away (a syslog daemon restarting) costs the lines
    /// sent meanwhile, counted, and said in the first line once it is back.
    @Test func aListenerThatGoesAwayCostsCountedLines() throws {
        try withHarness("syslog-gone") { h throws in
            let listener = try Listener(h.scratch.file("log.sock"))
            let env = environment(h, listener.path)
            let start = try h.swiftd(["start", "s", "--log", "syslog", "--ready", "fd:9", "--", h.fixturePath, "service", "--print-on-signal", "--fd-ready", "9"],
                                     environment: env)
            #expect(start.code == 0, "\(start)")
            #expect(try h.swiftd(["signal", "s", "USR1"]).code == 0)
            #expect(listener.receive(until: "got USR1").last?.hasSuffix("got USR1") == true)
            listener.close()
            #expect(try h.swiftd(["signal", "s", "USR1"]).code == 0)
            #expect(try h.swiftd(["signal", "s", "HUP"]).code == 0)
            #expect(eventually { h.state("s")?.droppedLines == 2 }, "two lines dropped: \(String(describing: h.state("s")?.droppedLines))")
            try listener.bind()
            // After a syslog daemon restarts: reopen connects again at once.
            #expect(try h.swiftd(["reopen", "s"], environment: env).code == 0)
            #expect(try h.swiftd(["signal", "s", "QUIT"]).code == 0)
            let messages = listener.receive(until: "got QUIT").compactMap(parse)
            // Why: the first line found the listener gone; the second, within a second, no connection yet (or none to make).
            #expect(messages.count == 2 && messages[0].message.hasPrefix("swiftd: dropped 2 lines (") && messages[1].message == "got QUIT", "\(messages)")
            #expect(messages.first?.priority == 3 * 8 + 4, "a warning")
            let status = try h.swiftd(["status", "s", "--json"])
            #expect(status.stdout.contains("\"dropped_log_lines\":2"), "\(status)")
            #expect(try h.swiftd(["stop", "s"]).code == 0)
        }
    }
}
