import Glibc
import Daemonize

/// `start`, `stop` and `restart` of several names: each name is handled by a
/// swiftd of its own, exactly as if it had been given alone, at most
/// `concurrency` at a time (a stop that waits for a slow service does not
/// hold up the others). What each prints is shown once it ends, in the order
/// the names were given; the exit code is the highest of theirs. (Status is
/// cheap: several names are read in this process, one after the other.)
enum Several {
    static let concurrency = 32

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

    /// Runs `swiftd WORD NAME ARGS` for each of `names`.
    static func run(_ word: String, names: [String], arguments: [String]) -> Int32 {
        var pending = names[...]
        var running: [Int: Child] = [:]
        var finished: [Int: (printed: [[UInt8]], code: Int32)] = [:]
        var next = 0, printedUpTo = 0, worst: Int32 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { buffer.deallocate() }
        while printedUpTo < names.count {
            while running.count < concurrency, let name = pending.first {
                pending.removeFirst()
                do {
                    running[next] = try launch([word, name] + arguments)
                } catch {
                    finished[next] = ([[], Array("swiftd: \(name): \(error)\n".utf8)], ExitCode.failure)
                }
                next += 1
            }
            var set = PollSet<(Int, Int)>()
            for (index, child) in running {
                for (pipe, fd) in child.pipes.enumerated() { if let fd { set.add(fd, (index, pipe)) } }
            }
            for (index, pipe) in set.wait(timeoutMilliseconds: -1) { running[index]?.read(pipe, using: buffer) }
            for (index, child) in running where child.isDrained {
                running[index] = nil
                finished[index] = (child.printed, (try? child.process.wait())?.shellStatus ?? ExitCode.failure)
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
