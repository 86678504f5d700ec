package import Glibc
internal import CDaemonize

/// The calling process: its ids, its children, and the calls that change it.
/// Every such libc call the library makes goes through here.
package enum CurrentProcess {
    /// The corresponding C function is `getpid`.
    package static var id: pid_t { getpid() }

    /// The arguments the process was started with, `argv[0]` first, as the
    /// bytes they are (`CommandLine.arguments` turns a byte that is not
    /// UTF-8 into U+FFFD; see `String(platformString:)`).
    package static var arguments: [String] {
        let argv = CommandLine.unsafeArgv
        return (0..<Int(CommandLine.argc)).map { String(platformString: argv[$0]!) }
    }

    /// The corresponding C function is `getppid`.
    package static var parentID: pid_t { getppid() }

    /// The calling thread's id. The corresponding C function is `gettid`.
    package static var threadID: pid_t { dz_gettid() }

    /// The corresponding C function is `geteuid`.
    package static var effectiveUserID: uid_t { geteuid() }

    /// Ends the process, flushing C streams. The corresponding C function is `exit`.
    package static func exit(_ code: Int32) -> Never { Glibc.exit(code) }

    /// `CAP_SYS_RESOURCE`: raise hard limits, lower `oom_score_adj`.
    package static let capabilitySysResource = 24

    /// True when capability number `bit` is in this process's effective set
    /// (`CapEff` in /proc/self/status): root may lack some in a container.
    package static func hasCapability(_ bit: Int) -> Bool {
        guard let bytes = try? FileSystem.read("/proc/self/status", limit: 1 << 16) else { return effectiveUserID == 0 }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("CapEff:") {
            guard let mask = UInt64(String(line.dropFirst(7)).trimmingSpaces, radix: 16) else { break }
            return mask & (1 << UInt64(bit)) != 0
        }
        return effectiveUserID == 0
    }

    /// This process's `/proc/self/oom_score_adj` (-1000 to 1000), which its
    /// children inherit; nil when the kernel does not say.
    package static var oomScoreAdjustment: Int32? {
        guard let bytes = try? FileSystem.read("/proc/self/oom_score_adj", limit: 64) else { return nil }
        return Int32(String(decoding: bytes, as: UTF8.self).trimmingSpaces)
    }

    /// This process's soft and hard limit of resource `code` (an `RLIMIT_`
    /// number), nil for unlimited; nil when the kernel does not say.
    ///
    /// The corresponding C function is `getrlimit`.
    package static func resourceLimit(_ code: Int32) -> (soft: UInt64?, hard: UInt64?)? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(code), &limit) == 0 else { return nil }
        func value(_ v: rlim_t) -> UInt64? { v == rlim_t.max ? nil : UInt64(v) }
        return (value(limit.rlim_cur), value(limit.rlim_max))
    }

    /// Ends the process at once, as a forked child must. The corresponding C function is `_exit`.
    package static func exitNow(_ code: Int32) -> Never { _exit(code) }

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
        if path.withPlatformString(chdir) != 0 { throw SystemError("chdir", path: path) }
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
        _ = name.withPlatformString { dz_set_name($0) }
    }

    /// Ignores `signal` from now on. The corresponding C function is `sigaction`.
    static func ignore(_ signal: ProcessSignal) {
        _ = dz_signal_ignore(signal.rawValue, nil)
    }

    /// Runs `body` with SIGPIPE ignored, then restores its disposition: for
    /// a write to a reader that may be gone.
    static func ignoringBrokenPipes<T>(_ body: () throws -> T) rethrows -> T {
        var old = sigaction()
        _ = dz_signal_ignore(SIGPIPE, &old)
        defer { _ = dz_signal_restore(SIGPIPE, &old) }
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

    /// Switches to `credentials`: supplementary groups, then the group, then
    /// the user (`setgroups`, `setgid`, `setuid`), each only when given.
    /// Setting the user last keeps the right to set the groups.
    static func dropPrivileges(to credentials: Credentials) throws {
        if let groups = credentials.groups, setgroups(groups.count, groups) != 0 { throw SystemError("setgroups") }
        if let gid = credentials.gid, setgid(gid) != 0 { throw SystemError("setgid", path: "gid \(gid)") }
        if let uid = credentials.uid, setuid(uid) != 0 { throw SystemError("setuid", path: credentials.userName ?? "uid \(uid)") }
    }

    /// Runs `handler` when the process ends through `exit` (or a return
    /// from `main`). The corresponding C function is `atexit`.
    static func atExit(_ handler: @convention(c) () -> Void) {
        _ = atexit(handler)
    }

    /// Execs this program again: the path it was started by, as given to
    /// `execve` (the kernel's `AT_EXECFN`: no symlink resolved, so a `current
    /// -> v2` link swapped since leads to v2), made absolute with the working
    /// directory recorded before `main` when it was relative, or
    /// `/proc/self/exe` when that path is gone; the original argv, byte for
    /// byte, and this process's environment. C streams are flushed and every
    /// signal's disposition and the calling thread's mask reset first, as a
    /// program started afresh has them. Returns only on failure, with
    /// everything put back. The corresponding C functions are `getauxval`,
    /// `fflush`, `sigaction`, `pthread_sigmask` and `execv`.
    static func executeAgain() -> SystemError {
        var path = [CChar](repeating: 0, count: Int(PATH_MAX) * 2)
        _ = dz_reexec(CommandLine.unsafeArgv, &path, path.count)
        let errno = Errno.current
        return SystemError("exec", path: String(platformBytes: path.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }), errno: errno)
    }
}

/// A NULL-terminated array of C strings, allocated for a C call and freed by its owner.
final class CStrings {
    private var pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { $0.platformStringCopy } + [nil]
    }

    func withPointers<R>(_ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    func free() {
        for p in pointers { Glibc.free(p) }
        pointers = [nil]
    }
}
