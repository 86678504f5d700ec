import Glibc
import Daemonize

/// `start`, `stop` and `restart` of several names: each name is handled
/// exactly as if it had been given alone. What each prints is shown once it
/// ends, in the order the names were given; the exit code is the highest of
/// theirs. A name is handled by a swiftd of its own, at most `concurrency`
/// at a time (a stop that waits for a slow service does not hold up the
/// others), except the stop of a supervised service: that one is begun in
/// this process (its supervisor is asked, `ServiceController.beginStop`) and
/// its supervisor is waited for on its pidfd together with the others, at
/// most `Stops.limit` at a time. That is the same stop without a process of
/// its own: a stop of 1,000 took 1.4 s of CPU time instead of 2.7 (0.6 s
/// instead of 1.4 on 2 cores). (Status is cheap: several names are read in
/// this process, one after the other.)
enum Several {
    static let concurrency = 32

    /// What `stop` needs to stop names in this process.
    struct Stops {
        /// Supervisors waited for at once: a pidfd each, 256 at most, with
        /// room left under the descriptor limit for the children's pipes and
        /// the files a stop opens.
        static var limit: Int {
            let descriptors = ResourceLimit.current(.nofile)?.soft.map { Int(clamping: $0) } ?? Int.max
            return max(1, min(256, descriptors - 2 * concurrency - 32))
        }
        let controller: ServiceController
        let signal: ProcessSignal?
        let timeout: Interval?
        let parsed: ParsedArguments

        func begin(_ name: ServiceName) -> StopProgress {
            controller.beginStop(name, signal: signal, timeout: timeout, mayWait: false)
        }

        /// What a stop of its own would have printed, and its exit code.
        func finished(_ outcome: ServiceController.Outcome) -> Finished {
            let (output, error) = Commands.rendered(outcome, parsed)
            return ([Array((output ?? "").utf8), Array((error ?? "").utf8)], outcome.code)
        }
    }

    typealias Finished = (printed: [[UInt8]], code: Int32)

    /// What a descriptor in the poll set belongs to.
    private enum Source {
        case pipe(index: Int, pipe: Int)
        case supervisor(index: Int)
    }

    /// One name's swiftd and what it printed so far.
    final class Child {
        let process: LaunchedProcess
        var pipes: [FileDescriptor?]
        var printed: [[UInt8]] = [[], []]

        init(process: LaunchedProcess, output: FileDescriptor, error: FileDescriptor) {
            self.process = process
            pipes = [output, error]
        }

        var isDrained: Bool { pipes.allSatisfy { $0 == nil } }

        /// Reads what is waiting on pipe `index` into `buffer`, shared by
        /// every child (not zeroed anew for each read); closes it at its end.
        func read(_ index: Int, using buffer: UnsafeMutableRawBufferPointer) {
            guard let fd = pipes[index] else { return }
            let n = (try? fd.read(into: buffer)) ?? 0
            if n > 0 {
                printed[index] += UnsafeRawBufferPointer(rebasing: buffer[..<n])
            } else {
                fd.close()
                pipes[index] = nil
            }
        }
    }

    /// Runs `swiftd WORD NAME ARGS` for each of `names`; with `stops`, stops
    /// supervised services in this process.
    static func run(_ word: String, names: [ServiceName], arguments: [String], stops: Stops? = nil) -> Int32 {
        // Names not begun in this process yet, and those that need a swiftd of their own.
        let unbegun = stops == nil ? [] : Array(names.indices)
        var needChild = stops == nil ? Array(names.indices) : []
        var nextBegun = 0, nextChild = 0
        var running: [Int: Child] = [:]
        var waiting: [Int: PendingStop] = [:]
        var finished: [Int: Finished] = [:]
        var printedUpTo = 0, worst: Int32 = 0
        let limit = Stops.limit
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { buffer.deallocate() }
        func advance(_ index: Int, _ pending: PendingStop, exited: Bool) {
            guard let stops else { return }
            switch stops.controller.advance(pending, exited: exited) {
            case .done(let outcome):
                waiting[index] = nil
                finished[index] = stops.finished(outcome)
            case .waiting(let next):
                waiting[index] = next
            case .wouldWait:
                preconditionFailure("a stop under way does not go back")
            }
        }
        while printedUpTo < names.count {
            while let stops, waiting.count < limit, nextBegun < unbegun.count {
                let index = unbegun[nextBegun]
                nextBegun += 1
                switch stops.begin(names[index]) {
                case .done(let outcome): finished[index] = stops.finished(outcome)
                case .waiting(let pending): waiting[index] = pending
                case .wouldWait: needChild.append(index)
                }
            }
            while running.count < concurrency, nextChild < needChild.count {
                let index = needChild[nextChild]
                nextChild += 1
                do {
                    running[index] = try launch([word, names[index].rawValue] + arguments)
                } catch {
                    finished[index] = ([[], Array("swiftd: \(names[index]): \(error)\n".utf8)], ExitCode.failure)
                }
            }
            if !running.isEmpty || !waiting.isEmpty {
                var set = PollSet<Source>()
                for (index, child) in running {
                    for (pipe, fd) in child.pipes.enumerated() { if let fd { set.add(fd, .pipe(index: index, pipe: pipe)) } }
                }
                for (index, pending) in waiting { set.add(pending.supervisor.descriptor, .supervisor(index: index)) }
                let timeout = waiting.values.lazy.map(\.deadline).min().map(Monotonic.millisecondsUntil) ?? -1
                for source in set.wait(timeoutMilliseconds: timeout) {
                    switch source {
                    case .pipe(let index, let pipe): running[index]?.read(pipe, using: buffer)
                    case .supervisor(let index): if let pending = waiting[index] { advance(index, pending, exited: true) }
                    }
                }
                let now = Monotonic.now()
                for (index, pending) in waiting where pending.deadline <= now {
                    advance(index, pending, exited: pending.supervisor.hasExited)
                }
                for (index, child) in running where child.isDrained {
                    running[index] = nil
                    finished[index] = (child.printed, (try? child.process.wait())?.shellStatus ?? ExitCode.failure)
                }
            }
            while let (printed, code) = finished.removeValue(forKey: printedUpTo) {
                try? FileDescriptor.standardOutput.writeAll(printed[0])
                try? FileDescriptor.standardError.writeAll(printed[1])
                worst = max(worst, code)
                printedUpTo += 1
            }
        }
        return worst
    }

    /// This very swiftd, with `arguments`, its output into two pipes.
    private static func launch(_ arguments: [String]) throws -> Child {
        let output = try FileDescriptor.pipe()
        let errors: (read: FileDescriptor, write: FileDescriptor)
        do {
            errors = try FileDescriptor.pipe()
        } catch {
            output.read.close(); output.write.close()
            throw error
        }
        defer { output.write.close(); errors.write.close() }
        do {
            let process = try Launcher.launch(LaunchConfiguration(
                executable: "/proc/self/exe", arguments: arguments, argv0: CommandLine.arguments.first ?? "swiftd",
                standardInput: .null, standardOutput: .descriptor(output.write.rawValue), standardError: .descriptor(errors.write.rawValue)))
            return Child(process: process, output: output.read, error: errors.read)
        } catch {
            output.read.close(); errors.read.close()
            throw error
        }
    }
}
