import Glibc
import Daemonize

/// `start`, `stop` and `restart` of several names: each name is handled
/// exactly as if it had been given alone. What each prints is shown once it
/// ends, in the order the names were given; the exit code is the highest of
/// theirs. A name is handled by a swiftd of its own, at most `concurrency`
/// at a time (a stop that waits for a slow service does not hold up the
/// others), except the start and the stop of a supervised service: those are
/// begun in this process (`ServiceController.beginStart`, `beginStop`) and
/// their supervisors waited for on their report pipes and pidfds together,
/// at most `InProcess.limit` at a time (32 starts, 256 stops). That is the
/// same start or stop without a process of its own, and the command does not
/// wait for each intermediate child (`Daemon.Startup`): it forks the next
/// supervisor at once. A stop of 1,000 took 1.4 s of CPU time instead of
/// 2.7 (0.6 s instead of 1.4 on 2 cores); a start of 1,000 took 1.15-1.33 s
/// instead of 1.55-1.77, the command with its children 0.5 s of CPU time
/// instead of 1.35 (the supervisors not counted). A start or stop that would
/// wait here (exec mode, a lock held by another command, what a dead
/// instance left to stop), or a start whose configuration does not load,
/// still goes to a swiftd of its own, which says what it would alone.
/// (Status is cheap: several names are read in this process, one after the
/// other.)
enum Several {
    static let concurrency = 32

    /// What `start` or `stop` needs to handle names in this process.
    struct InProcess {
        /// Starts or stops waited for at once: a descriptor each (report pipe
        /// or pidfd), with room left under the descriptor limit for the
        /// children's pipes and the files a start or stop opens. Stops: 256
        /// at most. Starts: `concurrency`, as many as were started side by
        /// side by swiftds of their own. Each supervisor is forked from this
        /// process and inherits its heap, and glibc's per-thread cache hands
        /// the supervisor's first allocations the chunks this process freed
        /// last: with hundreds of starts under way, their records spread those
        /// chunks over the heap, and every page the supervisor then writes
        /// becomes its own. Measured at 1,000 (summed Pss over the
        /// supervisors): 256 under way, 177-191 kB a supervisor, its heap's
        /// own pages growing from 60 kB for the first to 104-124 kB for the
        /// last; 32 under way, 152 kB (64-72 kB of heap); a swiftd of its own
        /// a name, 149 kB.
        var limit: Int {
            let descriptors = ResourceLimit.current(.nofile)?.soft.map { Int(clamping: $0) } ?? Int.max
            let most: Int
            switch kind {
            case .start: most = concurrency
            case .stop: most = 256
            }
            return max(1, min(most, descriptors - 2 * concurrency - 32))
        }

        enum Kind {
            case start
            case stop(signal: ProcessSignal?, timeout: Interval?)
        }

        let controller: ServiceController
        let kind: Kind
        let parsed: ParsedArguments

        func begin(_ name: ServiceName) -> Progress {
            switch kind {
            case .start:
                // A configuration that does not load is left to a swiftd of its own, which says why as it would alone.
                guard let loaded = try? Actions.loaded(name, "start", parsed, controller) else { return .wouldWait }
                switch controller.beginStart(loaded.configuration, mayWait: false) {
                case .done(let outcome): return .done(outcome)
                case .waiting(let pending): return .waiting(.start(pending))
                case .wouldWait: return .wouldWait
                }
            case .stop(let signal, let timeout):
                return Progress(controller.beginStop(name, signal: signal, timeout: timeout, mayWait: false))
            }
        }

        /// Takes `pending` on: its descriptor is readable, or (a stop) its deadline passed.
        func advance(_ pending: Pending, readable: Bool) -> Progress {
            switch pending {
            case .start(let start):
                guard readable else { return .waiting(pending) }
                switch controller.advance(start) {
                case .done(let outcome): return .done(outcome)
                case .waiting(let next): return .waiting(.start(next))
                case .wouldWait: preconditionFailure("a start under way does not go back")
                }
            case .stop(let stop):
                return Progress(controller.advance(stop, exited: readable))
            }
        }

        /// What a start or stop of its own would have printed, and its exit code.
        func finished(_ outcome: ServiceController.Outcome) -> Finished {
            let (output, error) = Commands.rendered(outcome, parsed)
            return ([Array((output ?? "").utf8), Array((error ?? "").utf8)], outcome.code)
        }
    }

    /// A start or stop under way in this process.
    enum Pending {
        case start(PendingStart)
        case stop(PendingStop)

        var descriptor: FileDescriptor {
            switch self {
            case .start(let start): return start.descriptor
            case .stop(let stop): return stop.supervisor.descriptor
            }
        }

        /// When a stop's supervisor is past its time; a start has none (its
        /// supervisor reports once its start window is over).
        var deadline: Int64? {
            if case .stop(let stop) = self { return stop.deadline }
            return nil
        }
    }

    enum Progress {
        case done(ServiceController.Outcome)
        case waiting(Pending)
        case wouldWait

        init(_ stop: StopProgress) {
            switch stop {
            case .done(let outcome): self = .done(outcome)
            case .waiting(let pending): self = .waiting(.stop(pending))
            case .wouldWait: self = .wouldWait
            }
        }
    }

    typealias Finished = (printed: [[UInt8]], code: Int32)

    /// What a descriptor in the poll set belongs to.
    private enum Source {
        case pipe(index: Int, pipe: Int)
        case pending(index: Int)
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

    /// Runs `swiftd WORD NAME ARGS` for each of `names`; with `inProcess`,
    /// handles what it can of them in this process.
    static func run(_ word: String, names: [ServiceName], arguments: [String], inProcess: InProcess? = nil) -> Int32 {
        // Names not begun in this process yet, and those that need a swiftd of their own.
        let unbegun = inProcess == nil ? [] : Array(names.indices)
        var needChild = inProcess == nil ? Array(names.indices) : []
        var nextBegun = 0, nextChild = 0
        var running: [Int: Child] = [:]
        var waiting: [Int: Pending] = [:]
        var finished: [Int: Finished] = [:]
        var printedUpTo = 0, worst: Int32 = 0
        let limit = inProcess?.limit ?? 1
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { buffer.deallocate() }
        func record(_ index: Int, _ progress: Progress) {
            guard let inProcess else { return }
            switch progress {
            case .done(let outcome):
                waiting[index] = nil
                finished[index] = inProcess.finished(outcome)
            case .waiting(let next):
                waiting[index] = next
            case .wouldWait:
                waiting[index] = nil
                needChild.append(index)
            }
        }
        while printedUpTo < names.count {
            while let inProcess, waiting.count < limit, nextBegun < unbegun.count {
                let index = unbegun[nextBegun]
                nextBegun += 1
                record(index, inProcess.begin(names[index]))
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
                for (index, pending) in waiting { set.add(pending.descriptor, .pending(index: index)) }
                let timeout = waiting.values.lazy.compactMap(\.deadline).min().map(Monotonic.millisecondsUntil) ?? -1
                for source in set.wait(timeoutMilliseconds: timeout) {
                    switch source {
                    case .pipe(let index, let pipe): running[index]?.read(pipe, using: buffer)
                    case .pending(let index):
                        if let inProcess, let pending = waiting[index] { record(index, inProcess.advance(pending, readable: true)) }
                    }
                }
                let now = Monotonic.now()
                for (index, pending) in waiting {
                    guard let inProcess, let deadline = pending.deadline, deadline <= now else { continue }
                    if case .stop(let stop) = pending {
                        record(index, inProcess.advance(pending, readable: stop.supervisor.hasExited))
                    }
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
                executable: "/proc/self/exe", arguments: arguments, argv0: CurrentProcess.arguments.first ?? "swiftd",
                standardInput: .null, standardOutput: .descriptor(output.write.rawValue), standardError: .descriptor(errors.write.rawValue)))
            return Child(process: process, output: output.read, error: errors.read)
        } catch {
            output.read.close(); errors.read.close()
            throw error
        }
    }
}
