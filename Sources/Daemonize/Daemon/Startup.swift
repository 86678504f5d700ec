extension Daemon {
    /// The original process's view of a daemon starting up.
    public final class Startup {
        private let channel: FileDescriptor
        /// The daemon's pid, once the intermediate process has sent it.
        public private(set) var daemonPID: pid_t?
        private var outcome: Outcome?

        init(channel: FileDescriptor) {
            self.channel = channel
        }

        deinit { channel.close() }

        /// What the daemon said.
        public enum Outcome: Hashable, Sendable {
            /// It called `ready`.
            case ready(message: String, exitCode: Int32)
            /// It called `fail`.
            case failed(message: String, exitCode: Int32)
            /// The channel closed without a report: the daemon died or exec'd.
            case closed
        }

        /// Waits for the daemon's report (or for the channel to close).
        public func wait() -> Outcome {
            if let outcome { return outcome }
            while let record = StatusChannel.read(from: channel) {
                switch record {
                case .pid(let pid): daemonPID = pid
                case .ready(let code, let message): outcome = .ready(message: message, exitCode: code)
                case .failed(let code, let message): outcome = .failed(message: message, exitCode: code)
                }
                if let outcome { return outcome }
            }
            outcome = .closed
            return .closed
        }

        /// Waits for the daemon to exit and reaps it (the original adopted it
        /// as a subreaper). Nil when it is not this process's child.
        public func waitForDaemonExit() -> ExitStatus? {
            guard let pid = daemonPID else { return nil }
            return CurrentProcess.reap(pid)
        }

        /// Waits for the report, prints it (ready: standard output, failed:
        /// standard error) and returns the exit code `detach` exits with.
        public func finish() -> Int32 {
            switch wait() {
            case .ready(let message, let code):
                if !message.isEmpty { print(message) }
                return code
            case .failed(let message, let code):
                Standard.error(message)
                return code
            case .closed:
                let status = waitForDaemonExit()
                let detail: String
                switch status {
                case .exited(let code)?: detail = "status \(code)"
                case .signaled(let signal, _)?: detail = "signal \(signal.name)"
                case nil: detail = "status unknown"
                }
                Standard.error("daemon exited during startup (\(detail))")
                return 1
            }
        }
    }
}

/// Writing to the standard streams without buffering surprises around forks.
public enum Standard {
    /// Writes `line` and a newline to standard error.
    public static func error(_ line: String) {
        CurrentProcess.flushStandardStreams()
        try? FileDescriptor.standardError.writeAll(line + "\n")
    }

    /// Writes `text` to standard output, unbuffered.
    public static func output(_ text: String) {
        CurrentProcess.flushStandardStreams()
        try? FileDescriptor.standardOutput.writeAll(text)
    }
}
