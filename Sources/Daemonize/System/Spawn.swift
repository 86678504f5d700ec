internal import Glibc
internal import CDaemonize

/// One fork and exec (or an exec in place), as the C child performs it
/// (`Sources/CDaemonize/launch.c`): everything decided beforehand, in Swift
/// values here, converted to the C attribute struct for the one call.
struct Spawn {
    /// A step of the C child that can fail.
    enum Step: String, Sendable {
        case pipe, fork, signals, setsid, descriptors, chdir, nice, setgroups, setgid, setuid, pdeathsig, close, exec
        case oomScoreAdjust = "oom_score_adj", chroot, setrlimit, ioprio = "ioprio_set", sched = "sched_setscheduler"

        init(_ code: Int32) {
            switch UInt32(bitPattern: code) {
            case DZ_STEP_PIPE.rawValue: self = .pipe
            case DZ_STEP_FORK.rawValue: self = .fork
            case DZ_STEP_SIGNALS.rawValue: self = .signals
            case DZ_STEP_SESSION.rawValue: self = .setsid
            case DZ_STEP_DESCRIPTORS.rawValue: self = .descriptors
            case DZ_STEP_CHDIR.rawValue: self = .chdir
            case DZ_STEP_NICE.rawValue: self = .nice
            case DZ_STEP_SETGROUPS.rawValue: self = .setgroups
            case DZ_STEP_SETGID.rawValue: self = .setgid
            case DZ_STEP_SETUID.rawValue: self = .setuid
            case DZ_STEP_PDEATHSIG.rawValue: self = .pdeathsig
            case DZ_STEP_CLOSE.rawValue: self = .close
            case DZ_STEP_OOM.rawValue: self = .oomScoreAdjust
            case DZ_STEP_CHROOT.rawValue: self = .chroot
            case DZ_STEP_RLIMIT.rawValue: self = .setrlimit
            case DZ_STEP_IOPRIO.rawValue: self = .ioprio
            case DZ_STEP_SCHED.rawValue: self = .sched
            default: self = .exec
            }
        }
    }

    /// The step that failed and why.
    struct Failure: Error {
        var step: Step
        var errno: Errno
    }

    /// The executable, resolved.
    var path: String
    var argv: [String]
    var environment: [String]
    var workingDirectory: String?
    var umask: mode_t?
    var nice: Int32?
    var newSession = false
    var newProcessGroup = false
    var groups: [gid_t]?
    var gid: gid_t?
    var uid: uid_t?
    /// The signal the program gets when its parent dies (set after the privilege drop).
    var parentDeathSignal: ProcessSignal?
    /// The program's descriptor number, and the caller's descriptor it duplicates.
    var descriptors: [(target: Int32, source: FileDescriptor)] = []
    /// Written to `/proc/self/oom_score_adj` first (before the chroot).
    var oomScoreAdjustment: Int32?
    /// An open directory to change root to (`fchdir`, `chroot(".")`); the
    /// working directory and the executable's path are then taken inside it.
    var rootDirectory: FileDescriptor?
    /// `setrlimit` for each: the `RLIMIT_` number, the soft and hard values (`UInt64.max`: unlimited).
    var limits: [(resource: Int32, soft: UInt64, hard: UInt64)] = []
    /// `ioprio_set`: the class (1 real-time, 2 best-effort, 3 idle) and level (0 to 7).
    var ioPriority: (class: Int32, level: Int32)?
    /// `sched_setscheduler`: the policy (`SCHED_` number) and priority.
    var scheduling: (policy: Int32, priority: Int32)?
    /// The index in `environment` of the `LISTEN_PID=` entry the child
    /// fills in with its own pid.
    var listenPIDEntry: Int?

    /// Passes `sockets` as descriptors 3, 4, ... with the socket-activation
    /// variables; none: the variables are removed.
    mutating func passListeners(_ sockets: [Listeners.Socket]) {
        for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] { environment = Environment.setting(name, to: nil, in: environment) }
        guard !sockets.isEmpty else { return }
        for (index, socket) in sockets.enumerated() { descriptors.append((3 + Int32(index), FileDescriptor(rawValue: socket.descriptor))) }
        environment.append("LISTEN_FDS=\(sockets.count)")
        environment.append("LISTEN_FDNAMES=" + sockets.map(\.name).joined(separator: ":"))
        // Room for any pid; the child writes its own over it.
        environment.append("LISTEN_PID=" + String(repeating: "0", count: 20))
        listenPIDEntry = environment.count - 1
    }

    /// Spawns and execs; returns once the exec has happened, with the pid and
    /// a pidfd (nil where the kernel has none).
    ///
    /// The corresponding C function is `dz_launch` (`clone` with `CLONE_VM|CLONE_VFORK`, `execve`).
    func launch() throws(Failure) -> (pid: pid_t, pidfd: FileDescriptor?) {
        var pid: pid_t = -1
        var pidfd: Int32 = -1
        var step: Int32 = 0
        let err = withAttributes(reportFD: -1) { dz_launch($0, &pid, &pidfd, &step) }
        if err != 0 { throw Failure(step: Step(step), errno: Errno(rawValue: err)) }
        return (pid, pidfd >= 0 ? FileDescriptor(rawValue: pidfd) : nil)
    }

    /// Execs in this process. Returns only on failure, with where `report`
    /// (close-on-exec, kept open for the caller to say what failed) now is.
    ///
    /// The corresponding C function is `dz_exec_in_place` (`execve`).
    func execInPlace(keeping report: FileDescriptor?) -> (failure: Failure, report: FileDescriptor?) {
        var step: Int32 = 0
        var reportFD: Int32 = report?.rawValue ?? -1
        let err = withAttributes(reportFD: report?.rawValue ?? -1) { dz_exec_in_place($0, &step, &reportFD) }
        return (Failure(step: Step(step), errno: Errno(rawValue: err)), reportFD >= 0 ? FileDescriptor(rawValue: reportFD) : nil)
    }

    /// Calls `body` with the C attribute struct; every string is allocated
    /// for the call (as the bytes it holds, `platformStringCopy`) and freed after it.
    private func withAttributes<R>(reportFD: Int32, _ body: (UnsafePointer<dz_launch_attr>) -> R) -> R {
        let argvC = CStrings(argv)
        let envpC = CStrings(environment)
        let pathC = path.platformStringCopy
        let cwdC = workingDirectory.map(\.platformStringCopy)
        let oomC = oomScoreAdjustment.map { "\($0)".platformStringCopy }
        defer {
            argvC.free()
            envpC.free()
            free(pathC)
            free(cwdC ?? nil)
            free(oomC ?? nil)
        }
        let maps = descriptors.map { dz_fd_map(target: $0.target, source: $0.source.rawValue) }
        let rlimits = limits.map { dz_rlimit(resource: $0.resource, soft: $0.soft, hard: $0.hard) }
        let groupList = groups ?? []
        return argvC.withPointers { argvPointer in
            envpC.withPointers { envpPointer in
                maps.withUnsafeBufferPointer { mapBuffer in
                    groupList.withUnsafeBufferPointer { groupBuffer in
                        rlimits.withUnsafeBufferPointer { limitBuffer in
                            var attr = scalarAttributes()
                            attr.path = UnsafePointer(pathC)
                            attr.argv = argvPointer
                            attr.envp = envpPointer
                            attr.cwd = UnsafePointer(cwdC ?? nil)
                            attr.oom_score_adj = UnsafePointer(oomC ?? nil)
                            if groups != nil {
                                attr.set_groups = 1
                                attr.groups = groupBuffer.baseAddress
                                attr.ngroups = Int32(groupBuffer.count)
                            }
                            attr.fds = mapBuffer.baseAddress
                            attr.nfds = Int32(mapBuffer.count)
                            attr.limits = limitBuffer.baseAddress
                            attr.nlimits = Int32(limitBuffer.count)
                            attr.report_fd = reportFD
                            if let listenPIDEntry { attr.listen_pid_entry = envpPointer[listenPIDEntry] }
                            return withUnsafePointer(to: &attr) { body($0) }
                        }
                    }
                }
            }
        }
    }

    /// The attribute struct's fields that need no memory of their own.
    private func scalarAttributes() -> dz_launch_attr {
        var attr = dz_launch_attr()
        if let umask { attr.set_umask = 1; attr.umask = umask }
        if let nice { attr.set_nice = 1; attr.nice = nice }
        attr.new_session = newSession ? 1 : 0
        attr.new_process_group = newProcessGroup ? 1 : 0
        if let gid { attr.set_gid = 1; attr.gid = gid }
        if let uid { attr.set_uid = 1; attr.uid = uid }
        attr.pdeathsig = parentDeathSignal?.rawValue ?? 0
        attr.root_fd = -1
        if let rootDirectory { attr.set_root = 1; attr.root_fd = rootDirectory.rawValue }
        if let ioPriority { attr.set_ioprio = 1; attr.ioprio_class = ioPriority.class; attr.ioprio_level = ioPriority.level }
        if let scheduling { attr.set_sched = 1; attr.sched_policy = scheduling.policy; attr.sched_priority = scheduling.priority }
        return attr
    }
}
