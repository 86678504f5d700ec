import Glibc
import CDaemonize
import Daemonize

/// The finished run of a command: exit status and everything it printed.
package struct RunResult: CustomStringConvertible, Sendable {
    package var status: ExitStatus
    package var stdout: String
    package var stderr: String
    /// Standard output as the bytes it was (`stdout` turns a byte that is not UTF-8 into U+FFFD).
    package var stdoutBytes: [UInt8] = []
    /// True when the command was killed for running past its time limit.
    package var timedOut: Bool

    /// The exit code, or 128+signal.
    package var code: Int32 { status.shellStatus }

    /// "key=value" lines of standard output as a dictionary (last one wins).
    package var values: [String: String] { keyValues(stdout) }

    package var description: String {
        "status: \(status)\(timedOut ? " (timed out)" : "")\nstdout: \(stdout)\nstderr: \(stderr)"
    }
}

/// A process started with posix_spawn (safe in the threaded test runner).
package final class Spawned: @unchecked Sendable {
    package let pid: pid_t
    private var outRead: Int32
    private var errRead: Int32
    private var out: [UInt8] = []
    private var err: [UInt8] = []
    private var exitStatus: ExitStatus?
    /// False: the output pipes are kept open but never read (a reader that
    /// stopped reading: the pipe fills and writers block).
    private let drains: Bool

    init(pid: pid_t, outRead: Int32, errRead: Int32, drains: Bool = true) {
        self.pid = pid
        self.outRead = outRead
        self.errRead = errRead
        self.drains = drains
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        if outRead >= 0 { close(outRead) }
        if errRead >= 0 { close(errRead) }
    }

    /// Starts `executable` with `arguments`, in its own process group.
    package static func start(_ executable: String, _ arguments: [String], environment: [String]? = nil,
                             stdin: String? = nil, drainOutput: Bool = true) throws -> Spawned {
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard dz_pipe2(&outPipe, O_CLOEXEC) == 0, dz_pipe2(&errPipe, O_CLOEXEC) == 0 else { throw SystemError("pipe2") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        // As the bytes each holds: a test passes bytes that are not UTF-8 as `String(platformBytes:)` holds them.
        let argv = ([executable] + arguments).map { $0.platformStringCopy } + [nil]
        let envp = (environment ?? Environment.current()).map { $0.platformStringCopy } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(outPipe[1])
        close(errPipe[1])
        if rc != 0 {
            close(outPipe[0])
            close(errPipe[0])
            throw SystemError("posix_spawn", path: executable, errno: Errno(rawValue: rc))
        }
        _ = dz_set_nonblock(outPipe[0], 1)
        _ = dz_set_nonblock(errPipe[0], 1)
        return Spawned(pid: pid, outRead: outPipe[0], errRead: errPipe[0], drains: drainOutput)
    }

    /// Waits for the exit (killing the process group after `timeout` seconds)
    /// and collects the output. Output still held open by a daemonized
    /// descendant is read for a short grace period only.
    package func wait(timeout: Double = 30) -> RunResult {
        let deadline = Monotonic.now() + Int64(timeout * 1e9)
        var timedOut = false
        var graceEnd: Int64?
        while true {
            if exitStatus == nil {
                var status: Int32 = 0
                let r = waitpid(pid, &status, WNOHANG)
                if r == pid {
                    exitStatus = ExitStatus(waitStatus: status)
                    graceEnd = Monotonic.now() + 300_000_000
                }
            }
            let now = Monotonic.now()
            if exitStatus == nil && now > deadline && !timedOut {
                timedOut = true
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
            }
            if !drains {
                if exitStatus != nil { break }
                Monotonic.sleep(nanoseconds: 10_000_000)
                continue
            }
            var fds = [pollfd(fd: outRead, events: Int16(POLLIN), revents: 0), pollfd(fd: errRead, events: Int16(POLLIN), revents: 0)]
            let open = fds.filter { $0.fd >= 0 }
            if open.isEmpty && exitStatus != nil { break }
            if let graceEnd, now > graceEnd { break }
            _ = poll(&fds, nfds_t(fds.count), 10)
            drain(&outRead, into: &out)
            drain(&errRead, into: &err)
        }
        return RunResult(status: exitStatus ?? .signaled(.kill, coreDumped: false), stdout: String(decoding: out, as: UTF8.self),
                         stderr: String(decoding: err, as: UTF8.self), stdoutBytes: out, timedOut: timedOut)
    }

    /// True while the process has not exited (reaps it when it has).
    package var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            exitStatus = ExitStatus(waitStatus: status)
            return false
        }
        return true
    }

    /// Output so far (non-blocking).
    package func outputSoFar() -> String {
        drain(&outRead, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Sends `signal` to the process.
    package func signal(_ signal: Int32) { if exitStatus == nil { kill(pid, signal) } }

    private func drain(_ fd: inout Int32, into buffer: inout [UInt8]) {
        guard fd >= 0 else { return }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n > 0 { buffer += chunk[0..<n]; continue }
            if n == 0 { close(fd); fd = -1 }
            return
        }
    }
}

/// Runs `executable` to completion.
package func run(_ executable: String, _ arguments: [String], environment: [String]? = nil, stdin: String? = nil,
                timeout: Double = 30) throws -> RunResult {
    try Spawned.start(executable, arguments, environment: environment, stdin: stdin).wait(timeout: timeout)
}

/// The directory of the test bundle, where SwiftPM puts the package's executables.
package func productsDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let exe = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "."
    var dir = Path.directory(of: exe)
    // On Linux the runner is PACKAGE.xctest inside the products directory.
    while !FileSystem.exists(Path.join(dir, "fixture")) && dir != "/" { dir = Path.directory(of: dir) }
    return dir
}

/// The path of a built executable of this package.
package func product(_ name: String) -> String { Path.join(productsDirectory(), name) }

/// Polls `condition` every 5 ms until it holds or `timeout` seconds pass.
@discardableResult
package func eventually(timeout: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Monotonic.now() + Int64(timeout * 1e9)
    while Monotonic.now() < deadline {
        if condition() { return true }
        Monotonic.sleep(nanoseconds: 5_000_000)
    }
    return condition()
}

/// "key=value" lines as a dictionary (last one wins).
package func keyValues(_ text: String) -> [String: String] {
    var result: [String: String] = [:]
    for line in text.split(separator: "\n") {
        guard let eq = line.firstIndex(of: "=") else { continue }
        result[String(line[..<eq])] = String(line[line.index(after: eq)...])
    }
    return result
}
