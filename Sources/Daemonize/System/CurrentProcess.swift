/// The calling process: its ids, its children, and the calls that change it.
/// Every such libc call the library makes goes through here.
public enum CurrentProcess {
    /// The corresponding C function is `getpid`.
    public static var id: pid_t { getpid() }

    /// The corresponding C function is `getppid`.
    public static var parentID: pid_t { getppid() }

    /// The calling thread's id. The corresponding C function is `gettid`.
    public static var threadID: pid_t { dz_gettid() }

    /// The corresponding C function is `geteuid`.
    public static var effectiveUserID: uid_t { geteuid() }

    /// Ends the process, flushing C streams. The corresponding C function is `exit`.
    public static func exit(_ code: Int32) -> Never { Glibc.exit(code) }

    /// Ends the process at once, as a forked child must. The corresponding C function is `_exit`.
    public static func exitNow(_ code: Int32) -> Never { _exit(code) }

    /// Forks. Only `Daemon` calls it, in a process proven to have one thread.
    /// The corresponding C function is `fork`.
    static func fork() throws -> pid_t {
        let pid = dz_fork()
        if pid < 0 { throw SystemError("fork") }
        return pid
    }

    /// The corresponding C function is `setsid`.
    static func startSession() throws {
        if setsid() < 0 { throw SystemError("setsid") }
    }

    /// The corresponding C function is `chdir`.
    static func changeDirectory(to path: String) throws {
        if chdir(path) != 0 { throw SystemError("chdir", path: path) }
    }

    /// Sets the file mode creation mask. The corresponding C function is `umask`.
    static func setFileModeMask(_ mask: mode_t) {
        _ = umask(mask)
    }

    /// Adopts orphaned descendants (`PR_SET_CHILD_SUBREAPER`). The corresponding C function is `prctl`.
    static func becomeChildSubreaper() {
        _ = dz_set_child_subreaper()
    }

    /// The name `ps` shows as `comm` (15 bytes). The corresponding C function is `prctl`.
    static func setName(_ name: String) {
        _ = name.withCString { dz_set_name($0) }
    }

    /// Ignores `signal` from now on. The corresponding C function is `sigaction`.
    static func ignore(_ signal: Signal) {
        _ = dz_signal_ignore(signal.rawValue)
    }

    /// Runs `body` with SIGPIPE ignored, then restores its disposition: for
    /// a write to a reader that may be gone.
    static func ignoringBrokenPipes<T>(_ body: () throws -> T) rethrows -> T {
        var old = sigaction()
        var ignore = sigaction()
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        sigaction(SIGPIPE, &ignore, &old)
        defer { sigaction(SIGPIPE, &old, nil) }
        return try body()
    }

    /// Writes out every C stdio buffer (before a fork). The corresponding C function is `fflush`.
    static func flushStandardStreams() {
        fflush(nil)
    }

    // MARK: Children

    /// A child that has exited and is not reaped yet, nil when none has.
    /// The corresponding C function is `waitid` (`WNOWAIT`).
    static func exitedChild() -> pid_t? {
        var info = siginfo_t()
        let pid = dz_wait_any(&info, 1)
        return pid > 0 ? pid : nil
    }

    /// True while the process has children, exited or not.
    static var hasChildren: Bool {
        var info = siginfo_t()
        return !(dz_wait_any(&info, 1) < 0 && errno == ECHILD)
    }

    /// Reaps the child `pid` (waiting for it) and says how it ended; nil when it is not a child.
    /// The corresponding C function is `waitid`.
    static func reap(_ pid: pid_t) -> ExitStatus? {
        var info = siginfo_t()
        guard dz_reap(pid, &info) == 0 else { return nil }
        return ExitStatus(siginfo: info)
    }

    /// Execs `path` with `arguments` (argv[0] included) and this process's
    /// environment. Returns only on failure. The corresponding C function is `execv`.
    static func execute(_ path: String, arguments: [String]) -> SystemError {
        let argv = CStrings(arguments)
        defer { argv.free() }
        _ = argv.withPointers { execv(path, $0) }
        return SystemError("exec", path: path)
    }
}

/// A NULL-terminated array of C strings, allocated for a C call and freed by its owner.
final class CStrings {
    private var pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
    }

    func withPointers<R>(_ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    func free() {
        for p in pointers { Glibc.free(p) }
        pointers = [nil]
    }
}
