package import Glibc

extension Daemon {
    /// The original process's view of a daemon starting up.
    package final class Startup {
        private let channel: FileDescriptor
        /// How long to wait for the report; nil: for ever.
        private let timeout: Interval?
        /// The daemon's pid, once the intermediate process has sent it.
        package private(set) var daemonPID: pid_t?
        private var outcome: Outcome?
        /// The intermediate child, not reaped yet: it sends the daemon's pid
        /// and exits at once, so it is reaped when anything comes (or at the
        /// end of this), not waited for by `Daemon.fork`. A command starting
        /// several services forks the next while this one goes on.
        private var intermediate: pid_t?

        init(channel: FileDescriptor, timeout: Interval?, intermediate: pid_t) {
            self.channel = channel
            self.timeout = timeout
            self.intermediate = intermediate
        }

        deinit {
            reapIntermediate()
            channel.close()
        }

        /// Once it has written (or died): it is exiting, so this waits only
        /// for that. Then the daemon is this process's child.
        private func reapIntermediate() {
            guard let pid = intermediate else { return }
            intermediate = nil
            _ = CurrentProcess.reap(pid)
        }

        /// What the daemon said.
        package enum Outcome: Hashable, Sendable {
            /// It called `ready`.
            case ready(message: String, exitCode: Int32)
            /// It called `fail`.
            case failed(message: String, exitCode: Int32)
            /// The channel closed without a report: the daemon died or exec'd.
            case closed
            /// No report within the ready timeout.
            case timedOut
        }

        /// The channel: readable when the daemon has sent something (or
        /// closed it), for a caller that waits on several at once.
        package var descriptor: FileDescriptor { channel }

        /// The outcome, if the daemon has sent it (or closed the channel):
        /// reads the records already sent, without waiting. A record is
        /// written whole in one write of less than PIPE_BUF, so a readable
        /// channel holds whole records.
        package func received() -> Outcome? {
            if let outcome { return outcome }
            while (try? channel.waitReadable(timeoutMilliseconds: 0)) == true {
                guard take(StatusChannel.read(from: channel)) else { return outcome }
            }
            return nil
        }

        /// Takes one record in; false once there is an outcome (the record
        /// was a report, or nil: the channel closed).
        private func take(_ record: StatusChannel.Record?) -> Bool {
            reapIntermediate()
            switch record {
            case .pid(let pid)?: daemonPID = pid
            case .ready(let code, let message)?: outcome = .ready(message: message, exitCode: code)
            case .failed(let code, let message)?: outcome = .failed(message: message, exitCode: code)
            case nil: outcome = .closed
            }
            return outcome == nil
        }

        /// Waits for the daemon's report (or for the channel to close).
        package func wait() -> Outcome {
            if let outcome { return outcome }
            let deadline = timeout.map { Monotonic.now() + $0.nanoseconds }
            while true {
                if let deadline {
                    let left = Monotonic.millisecondsUntil(deadline)
                    if left <= 0 || (try? channel.waitReadable(timeoutMilliseconds: Int32(clamping: left))) == false {
                        outcome = .timedOut
                        return .timedOut
                    }
                }
                if !take(StatusChannel.read(from: channel)), let outcome { return outcome }
            }
        }

        /// Waits for the daemon to exit and reaps it (the original adopted it
        /// as a subreaper). Nil when it is not this process's child.
        package func waitForDaemonExit() -> ExitStatus? {
            guard let pid = daemonPID else { return nil }
            return CurrentProcess.reap(pid)
        }

        /// Stops a daemon that never reported: SIGTERM, SIGKILL after 5
        /// seconds, reaped. (It is this process's child: its pid cannot
        /// have been reused.)
        private func stopDaemon() {
            guard let pid = daemonPID, let handle = try? ProcessHandle.open(pid: pid) else { return }
            defer { handle.close() }
            try? handle.send(.terminate)
            if !handle.waitForExit(timeoutMilliseconds: 5000) { try? handle.send(.kill) }
            _ = try? handle.reap()
        }

        /// Waits for the report, prints it (ready: standard output, failed:
        /// standard error) and returns the exit code `detach` exits with.
        package func finish() -> Int32 {
            switch wait() {
            case .ready(let message, let code):
                if !message.isEmpty { Standard.print(message) }
                return code
            case .failed(let message, let code):
                Standard.error(message)
                return code
            case .timedOut:
                Standard.error("daemon (pid \(daemonPID.map(String.init) ?? "?")) not ready after \(timeout ?? .zero): stopped")
                stopDaemon()
                return 1
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
/// What is written is for a person: a byte that is not UTF-8 in it (a path,
/// an argument) shows as `\xNN` (`Escaped.message`).
package enum Standard {
    /// Writes `line` and `terminator` to standard error.
    package static func error(_ line: String, terminator: String = "\n") {
        CurrentProcess.flushStandardStreams()
        try? FileDescriptor.standardError.writeAll(Escaped.message(line + terminator))
    }

    /// Writes `text` to standard output, unbuffered.
    package static func output(_ text: String) {
        CurrentProcess.flushStandardStreams()
        try? FileDescriptor.standardOutput.writeAll(Escaped.message(text))
    }

    /// Prints `text` and `terminator` to standard output through its C
    /// stream (buffered, as `print`).
    package static func print(_ text: String, terminator: String = "\n") {
        Swift.print(Escaped.message(text), terminator: terminator)
    }
}
