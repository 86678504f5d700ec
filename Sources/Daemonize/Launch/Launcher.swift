public import Glibc

/// A program started by `Launcher.launch`, referred to by a pidfd: `send`
/// reaches it or nobody, even after its pid was reused.
///
/// `Sendable`; its pidfd is closed when the last reference goes.
public final class LaunchedProcess: Sendable {
    /// Its pid.
    public let pid: pid_t
    /// Its pidfd.
    package let handle: ProcessHandle

    package init(handle: ProcessHandle) {
        pid = handle.pid
        self.handle = handle
    }

    deinit { handle.close() }

    /// Sends `signal`. The C function is `pidfd_send_signal`.
    public func send(_ signal: ProcessSignal) throws {
        try handle.send(signal)
    }

    /// Waits for the program to exit and reaps it. Call it once: a reaped
    /// program cannot be waited for again. The C function is `waitid`.
    public func wait() throws -> ExitStatus {
        try handle.reap()
    }

    /// True once the program has exited, before or after it was reaped.
    public var hasExited: Bool { handle.hasExited }
}

/// Starts programs through the C spawn path (`launch.c`): all preparation
/// (path lookup, argv, envp, descriptors, credentials) happens here, before
/// the child exists; the child only applies it and reports a failed step as
/// an errno.
public enum Launcher {
    /// Spawns `configuration` (a `CLONE_VM|CLONE_VFORK` child, as
    /// `posix_spawn` makes: the calling thread waits until the exec, and
    /// `pthread_atfork` handlers do not run) and execs it; returns once the
    /// exec has happened.
    /// The child only applies what was prepared (`setsid`, `dup2`, `chdir`,
    /// `setgroups`, `setgid`, `setuid`, `prctl`, `close_range`, `execve`)
    /// and reports a failed step through a close-on-exec pipe.
    ///
    /// - Returns: The pid and a pidfd of the running program.
    /// - Throws: `LaunchError` naming the step that failed (a child that
    ///   failed has already been reaped), or a `SystemError` from preparation.
    public static func launch(_ configuration: LaunchConfiguration) throws -> LaunchedProcess {
        let prepared = try Prepared(configuration)
        defer { prepared.release() }
        let (pid, pidfd): (pid_t, FileDescriptor?)
        do {
            (pid, pidfd) = try prepared.spawn.launch()
        } catch {
            throw prepared.error(error)
        }
        return LaunchedProcess(handle: try pidfd.map { ProcessHandle(pid: pid, descriptor: $0) } ?? ProcessHandle.open(pid: pid))
    }

    /// Applies `configuration` to this process and execs. Returns only on
    /// failure. `report` (close-on-exec) stays open for the caller to say what
    /// failed; the returned descriptor is where it now is.
    package static func execInPlace(_ configuration: LaunchConfiguration, keeping report: FileDescriptor?) -> (error: Error, report: FileDescriptor?) {
        let prepared: Prepared
        do {
            prepared = try Prepared(configuration)
        } catch {
            return (error, report)
        }
        defer { prepared.release() }
        let (failure, moved) = prepared.spawn.execInPlace(keeping: report)
        return (prepared.error(failure), moved)
    }

    /// A configuration made ready for the C child: the executable resolved,
    /// the standard streams opened (closed by `release`).
    final class Prepared {
        let configuration: LaunchConfiguration
        private(set) var spawn: Spawn
        private var opened: [FileDescriptor] = []

        init(_ c: LaunchConfiguration) throws {
            configuration = c
            let root = try c.rootDirectory.map { try Prepared.openRoot($0) }
            let path: String
            do {
                path = try ExecutableLookup.resolve(c.executable, searchPath: c.environmentValue("PATH"), root: root,
                                                    workingDirectory: c.workingDirectory)
            } catch {
                root?.close()
                throw error
            }
            spawn = Spawn(path: path, argv: [c.argv0 ?? c.executable] + c.arguments, environment: c.environment ?? Environment.current())
            spawn.passListeners(c.listeners)
            if let root { opened.append(root) }
            spawn.rootDirectory = root
            spawn.workingDirectory = c.workingDirectory
            spawn.umask = c.umask
            spawn.nice = c.nice
            spawn.newSession = c.session == .newSession
            spawn.newProcessGroup = c.session == .newProcessGroup
            spawn.groups = c.credentials?.groups
            spawn.gid = c.credentials?.gid
            spawn.uid = c.credentials?.uid
            spawn.parentDeathSignal = c.parentDeathSignal
            spawn.limits = c.resourceLimits.map { ($0.resource.code, $0.soft ?? .max, $0.hard ?? .max) }
            spawn.ioPriority = c.ioScheduling.map { ($0.class.code, $0.level) }
            spawn.scheduling = c.cpuScheduling.map { ($0.policy.code, $0.priority) }
            spawn.oomScoreAdjustment = c.oomScoreAdjustment
            do {
                try addStream(c.standardInput, target: 0, readable: true)
                try addStream(c.standardOutput, target: 1, readable: false)
                try addStream(c.standardError, target: 2, readable: false)
                for (target, source) in c.descriptors.sorted(by: { $0.key < $1.key }) {
                    guard target > 2, !spawn.descriptors.contains(where: { $0.target == target }) else {
                        throw SystemError("dup2", path: "descriptor \(target)", errno: .invalid)
                    }
                    spawn.descriptors.append((target, FileDescriptor(rawValue: source)))
                }
                if spawn.descriptors.count > 64 { throw SystemError("dup2", errno: .tooManyOpen) }
            } catch {
                release()
                throw error
            }
        }

        /// The directory to change root to, opened now: the executable is
        /// looked up in it and the child changes root to this very directory.
        static func openRoot(_ path: String) throws -> FileDescriptor {
            do {
                return try FileDescriptor.openPath(path, directory: true)
            } catch let error as SystemError {
                throw LaunchError(step: .chroot, errno: error.errno, path: path)
            }
        }

        private func addStream(_ stream: LaunchConfiguration.Stream, target: Int32, readable: Bool) throws {
            switch stream {
            case .inherit:
                if FileDescriptor(rawValue: target).isOpen {
                    spawn.descriptors.append((target, FileDescriptor(rawValue: target)))
                } else {
                    try addStream(.null, target: target, readable: readable)
                }
            case .null:
                let fd = try FileDescriptor.open("/dev/null", O_RDWR)
                opened.append(fd)
                spawn.descriptors.append((target, fd))
            case .descriptor(let fd):
                spawn.descriptors.append((target, FileDescriptor(rawValue: fd)))
            case .file(let path, let append):
                let flags = readable ? O_RDONLY : (O_WRONLY | O_CREAT | O_NOCTTY | (append ? O_APPEND : O_TRUNC))
                do {
                    let fd = try FileDescriptor.open(path, flags | O_NOFOLLOW, mode: 0o644)
                    opened.append(fd)
                    spawn.descriptors.append((target, fd))
                } catch let error as SystemError {
                    throw LaunchError(step: .open, errno: error.errno, path: path)
                }
            }
        }

        /// The launch error for a failed step, naming what the step was about.
        func error(_ failure: Spawn.Failure) -> LaunchError {
            let c = configuration
            let path: String?
            switch failure.step {
            case .exec: path = spawn.path
            case .chdir: path = c.workingDirectory
            case .chroot: path = c.rootDirectory
            case .oomScoreAdjust: path = c.oomScoreAdjustment.map { "\($0)" }
            case .setrlimit: path = c.resourceLimits.map(\.resource.rawValue).joined(separator: ",")
            case .ioprio: path = c.ioScheduling.map { "\($0.class.rawValue):\($0.level)" }
            case .sched: path = c.cpuScheduling.map { "\($0.policy.rawValue):\($0.priority)" }
            case .setuid: path = c.credentials.map { $0.userName ?? "uid \($0.uid.map(String.init) ?? "?")" }
            case .setgid, .setgroups: path = c.credentials?.gid.map { "gid \($0)" }
            default: path = nil
            }
            return LaunchError(step: LaunchError.Step(rawValue: failure.step.rawValue) ?? .exec, errno: failure.errno, path: path)
        }

        func release() {
            for fd in opened { fd.close() }
            opened = []
        }
    }
}
