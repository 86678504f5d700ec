import Glibc
import Testing

/// One test's world: a scratch directory, the built examples, and the
/// cleanup of every process the test started (each carries the sandbox's
/// mark in its environment, daemons included). Processes are started with
/// posix_spawn: the test runner has threads and never forks.
final class Sandbox: @unchecked Sendable {
    let directory: String
    private let mark: String
    /// Every process `spawn` started: only these are reaped here. A
    /// `waitpid(-1)` would steal the exit status of another test's child
    /// (tests run in parallel in one process): its `run` then saw exit 0.
    private var spawned: [pid_t] = []
    private let lock = Mutex()

    init(_ label: String) {
        var template = Array("/tmp/examples-\(label).XXXXXX".utf8CString)
        directory = String(cString: mkdtemp(&template))
        chmod(directory, 0o755)
        mark = "DAEMONIZE_EXAMPLES_SANDBOX=\(directory)"
    }

    func file(_ name: String) -> String { directory + "/" + name }

    /// The built example `name`, beside the test bundle.
    static func product(_ name: String) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        var dir = String(decoding: buffer[..<max(n, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        repeat {
            dir = String(dir[..<(dir.lastIndex(of: "/") ?? dir.startIndex)])
        } while !dir.isEmpty && access(dir + "/" + name, X_OK) != 0
        return dir + "/" + name
    }

    struct Result: CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The exit code, or 128 + the signal.
        var code: Int32 { (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f) }
        var description: String { "exit \(code)\nstdout: \(stdout)\nstderr: \(stderr)" }
    }

    /// Starts `program` (an example's name or a path) without waiting.
    func spawn(_ program: String, _ arguments: [String], environment: [String] = [], user: (uid_t, gid_t)? = nil,
               output: String? = nil, descriptors: [CInt: CInt] = [:]) -> pid_t {
        let path = program.hasPrefix("/") ? program : Sandbox.product(program)
        var words = [path] + arguments
        if let (uid, gid) = user { words = ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--"] + words }
        let out = output ?? file(".out")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, out + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        for (target, source) in descriptors { posix_spawn_file_actions_adddup2(&actions, source, target) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let env = [mark, "PATH=/usr/local/bin:/usr/bin:/bin", "SWIFT_BACKTRACE=enable=no"] + environment
        let argv = words.map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, words[0], &actions, &attributes, argv, envp)
        precondition(rc == 0, "posix_spawn \(words[0]): \(rc)")
        lock.locked { spawned.append(pid) }
        return pid
    }

    /// Runs `program` to the end (killed after `timeout` seconds).
    func run(_ program: String, _ arguments: [String] = [], environment: [String] = [], user: (uid_t, gid_t)? = nil,
             descriptors: [CInt: CInt] = [:], timeout: Double = 60) -> Result {
        let out = file(".out-\(Sandbox.counter())")
        let pid = spawn(program, arguments, environment: environment, user: user, output: out, descriptors: descriptors)
        var status: Int32 = 0
        let deadline = Sandbox.now() + timeout
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Sandbox.now() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(5000)
        }
        return Result(status: status, stdout: read(out), stderr: read(out + ".err"))
    }

    /// Runs `script` with /bin/sh (through posix_spawn: `system` forks the
    /// threaded runner); its exit code.
    func shell(_ script: String) -> Int32 {
        run("/bin/sh", ["-c", script]).code
    }

    /// Waits for a process started with `spawn` (killed after `timeout`).
    func wait(_ pid: pid_t, timeout: Double = 30) -> Int32 {
        var status: Int32 = 0
        let deadline = Sandbox.now() + timeout
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Sandbox.now() > deadline { kill(pid, SIGKILL) }
            usleep(5000)
        }
        return status
    }

    func read(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            bytes += chunk[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func write(_ path: String, _ text: String, mode: mode_t = 0o644) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
        _ = Glibc.write(fd, text, text.utf8.count)
        close(fd)
    }

    /// Every live process started in this sandbox (zombies excluded).
    func processes() -> [pid_t] {
        var result: [pid_t] = []
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = pid_t(name), pid != getpid(), Sandbox.state(of: pid) != "Z" else { continue }
            if read("/proc/\(pid)/environ").split(separator: "\0").contains(where: { $0 == mark }) { result.append(pid) }
        }
        return result
    }

    /// The state letter of `pid` ("S", "Z"...), nil when gone.
    static func state(of pid: pid_t) -> String? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 1024)
        let n = Glibc.read(fd, &chunk, chunk.count)
        let text = String(decoding: chunk[..<max(n, 0)], as: UTF8.self)
        guard let paren = text.lastIndex(of: ")") else { return nil }
        return text[text.index(paren, offsetBy: 2)...].split(separator: " ").first.map(String.init)
    }

    /// Kills every process of the sandbox and removes its directory.
    func cleanup() {
        for _ in 0..<50 {
            let left = processes()
            if left.isEmpty { break }
            left.forEach { kill($0, SIGKILL) }
            usleep(20_000)
        }
        var status: Int32 = 0
        for pid in lock.locked({ spawned }) { _ = waitpid(pid, &status, WNOHANG) }
        // rm through posix_spawn: system() would fork the threaded runner.
        _ = wait(spawn("/bin/rm", ["-rf", directory], output: file(".rm")))
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    nonisolated(unsafe) private static var count = 0
    private static let countLock = Mutex()
    static func counter() -> Int { countLock.locked { count += 1; return count } }
}

/// A pthread mutex, enough for a counter.
final class Mutex: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}

/// Runs `body` in a fresh sandbox, cleaned up however the test ends.
func withSandbox(_ label: String, _ body: (Sandbox) throws -> Void) rethrows {
    let sandbox = Sandbox(label)
    defer { sandbox.cleanup() }
    try body(sandbox)
}

/// Polls `condition` every 10 ms until it holds or `timeout` seconds pass.
func eventually(timeout: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Sandbox.now() + timeout
    while Sandbox.now() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// The pid a pidfile names.
func readPID(_ path: String, _ sandbox: Sandbox) -> pid_t? {
    pid_t(sandbox.read(path).split(separator: "\n").first.map(String.init) ?? "")
}

/// The value of `field` in /proc/PID/status ("Uid", "PPid"...).
func status(_ pid: pid_t, _ field: String, _ sandbox: Sandbox) -> String? {
    sandbox.read("/proc/\(pid)/status").split(separator: "\n").first { $0.hasPrefix(field + ":") }
        .map { $0.dropFirst(field.count + 1).trimmingPrefixWhitespace() }
}

extension Substring {
    func trimmingPrefixWhitespace() -> String { String(drop { $0 == " " || $0 == "\t" }) }
}

/// A requirement CI insists on, missing.
struct Unmet: Error, CustomStringConvertible {
    let what: String
    var description: String { "SWIFTD_CI=1: this test must run here, but it needs \(what), which is missing" }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only where `isMet`: skipped with the reason elsewhere;
    /// under CI (`.ci/run` sets SWIFTD_CI=1) a missing requirement fails the
    /// test instead. The rule of the main package's
    /// Tests/TestSupport/Requirement.swift, which this package cannot reach.
    static func requires(_ what: String, _ isMet: @escaping @Sendable () -> Bool) -> Self {
        .enabled(Comment(rawValue: "needs \(what)")) {
            if isMet() { return true }
            if let ci = getenv("SWIFTD_CI"), String(cString: ci) == "1" { throw Unmet(what: what) }
            return false
        }
    }
}

extension Trait where Self == TimeLimitTrait {
    /// The time limit of every suite, long enough for the whole run: a test's
    /// clock starts when it is scheduled (the main package's
    /// Tests/TestSupport/HangLimit.swift says why).
    static var hangLimit: Self { .timeLimit(.minutes(20)) }
}
