/// A program started by `Launcher.launch`.
public struct LaunchedProcess: Sendable {
    /// Its pid.
    public var pid: pid_t
    /// A pidfd for it.
    public var handle: ProcessHandle?
}

/// Starts programs through the C fork/exec path: all preparation (path
/// lookup, argv, envp, descriptors, credentials) happens here, before the
/// fork; the child only applies it and reports a failed step as an errno.
public enum Launcher {
    /// Forks and execs `configuration`; returns once the exec has happened.
    ///
    /// - Returns: The pid and a pidfd of the running program.
    /// - Throws: `LaunchError` naming the step that failed (a child that
    ///   failed has already been reaped), or a `SystemError` from preparation.
    public static func launch(_ configuration: LaunchConfiguration) throws -> LaunchedProcess {
        let prepared = try Prepared(configuration)
        defer { prepared.release() }
        var pid: pid_t = -1
        var pidfd: Int32 = -1
        var step: Int32 = 0
        let err = prepared.withAttributes(reportFD: -1) { dz_launch($0, &pid, &pidfd, &step) }
        if err != 0 {
            throw LaunchError(step: LaunchError.Step(code: step), errno: Errno(rawValue: err), path: prepared.path(forStep: step))
        }
        let handle = pidfd >= 0 ? ProcessHandle(pid: pid, descriptor: FileDescriptor(rawValue: pidfd)) : nil
        return LaunchedProcess(pid: pid, handle: handle)
    }

    /// Applies `configuration` to this process and execs. Returns only on
    /// failure. `report` (close-on-exec) stays open for the caller to say what
    /// failed; the returned descriptor is where it now is.
    public static func execInPlace(_ configuration: LaunchConfiguration, keeping report: FileDescriptor?) -> (error: Error, report: FileDescriptor?) {
        let prepared: Prepared
        do {
            prepared = try Prepared(configuration)
        } catch {
            return (error, report)
        }
        defer { prepared.release() }
        var step: Int32 = 0
        var reportFD: Int32 = report?.rawValue ?? -1
        let err = prepared.withAttributes(reportFD: report?.rawValue ?? -1) { dz_exec_in_place($0, &step, &reportFD) }
        let error = LaunchError(step: LaunchError.Step(code: step), errno: Errno(rawValue: err), path: prepared.path(forStep: step))
        return (error, reportFD >= 0 ? FileDescriptor(rawValue: reportFD) : nil)
    }

    /// The C-side form of a configuration: allocated strings and arrays, and
    /// the descriptors it opened (closed by `release`).
    final class Prepared {
        let executablePath: String
        let configuration: LaunchConfiguration
        var argv: [UnsafeMutablePointer<CChar>?] = []
        var envp: [UnsafeMutablePointer<CChar>?] = []
        var cwd: UnsafeMutablePointer<CChar>?
        var pathC: UnsafeMutablePointer<CChar>?
        var maps: [dz_fd_map] = []
        var opened: [FileDescriptor] = []
        var groups: [gid_t] = []

        init(_ c: LaunchConfiguration) throws {
            configuration = c
            let searchPath = c.environmentValue("PATH")
            executablePath = try ExecutableLookup.resolve(c.executable, searchPath: searchPath)
            do {
                pathC = strdup(executablePath)
                argv = ([c.argv0 ?? c.executable] + c.arguments).map { strdup($0) } + [nil]
                envp = (c.environment ?? Environment.current()).map { strdup($0) } + [nil]
                cwd = c.workingDirectory.map { strdup($0) }
                if let g = c.credentials?.groups { groups = g }
                try addStream(c.standardInput, target: 0, readable: true)
                try addStream(c.standardOutput, target: 1, readable: false)
                try addStream(c.standardError, target: 2, readable: false)
                for (target, source) in c.descriptors.sorted(by: { $0.key < $1.key }) {
                    guard target > 2, !maps.contains(where: { $0.target == target }) else {
                        throw SystemError("dup2", path: "descriptor \(target)", errno: .invalid)
                    }
                    maps.append(dz_fd_map(target: target, source: source.rawValue))
                }
                if maps.count > 64 { throw SystemError("dup2", errno: .tooManyOpen) }
            } catch {
                release()
                throw error
            }
        }

        private func addStream(_ stream: LaunchConfiguration.Stream, target: Int32, readable: Bool) throws {
            switch stream {
            case .inherit:
                if fcntl(target, F_GETFD) >= 0 {
                    maps.append(dz_fd_map(target: target, source: target))
                } else {
                    try addStream(.null, target: target, readable: readable)
                }
            case .null:
                let fd = try FileDescriptor.open("/dev/null", O_RDWR)
                opened.append(fd)
                maps.append(dz_fd_map(target: target, source: fd.rawValue))
            case .descriptor(let fd):
                maps.append(dz_fd_map(target: target, source: fd.rawValue))
            case .file(let path, let append):
                let flags = readable ? O_RDONLY : (O_WRONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | (append ? O_APPEND : O_TRUNC))
                do {
                    let fd = try FileDescriptor.open(path, flags | O_NOFOLLOW, mode: 0o644)
                    opened.append(fd)
                    maps.append(dz_fd_map(target: target, source: fd.rawValue))
                } catch let error as SystemError {
                    throw LaunchError(step: .open, errno: error.errno, path: path)
                }
            }
        }

        func withAttributes<R>(reportFD: Int32, _ body: (UnsafePointer<dz_launch_attr>) -> R) -> R {
            let c = configuration
            return argv.withUnsafeBufferPointer { argvBuffer in
                envp.withUnsafeBufferPointer { envpBuffer in
                    maps.withUnsafeBufferPointer { mapBuffer in
                        groups.withUnsafeBufferPointer { groupBuffer in
                            var attr = dz_launch_attr()
                            attr.path = UnsafePointer(pathC)
                            attr.argv = argvBuffer.baseAddress
                            attr.envp = envpBuffer.baseAddress
                            attr.cwd = UnsafePointer(cwd)
                            if let mask = c.umask { attr.set_umask = 1; attr.umask = mask }
                            if let nice = c.nice { attr.set_nice = 1; attr.nice = nice }
                            attr.new_session = c.session == .newSession ? 1 : 0
                            attr.new_process_group = c.session == .newProcessGroup ? 1 : 0
                            if let credentials = c.credentials {
                                if credentials.groups != nil {
                                    attr.set_groups = 1
                                    attr.groups = groupBuffer.baseAddress
                                    attr.ngroups = Int32(groupBuffer.count)
                                }
                                if let gid = credentials.gid { attr.set_gid = 1; attr.gid = gid }
                                if let uid = credentials.uid { attr.set_uid = 1; attr.uid = uid }
                            }
                            attr.pdeathsig = c.parentDeathSignal?.rawValue ?? 0
                            attr.fds = mapBuffer.baseAddress
                            attr.nfds = Int32(mapBuffer.count)
                            attr.report_fd = reportFD
                            return withUnsafePointer(to: &attr) { body($0) }
                        }
                    }
                }
            }
        }

        func path(forStep code: Int32) -> String? {
            let c = configuration
            switch LaunchError.Step(code: code) {
            case .exec, .lookup: return executablePath
            case .chdir: return c.workingDirectory
            case .setuid: return c.credentials.map { $0.userName ?? "uid \($0.uid.map(String.init) ?? "?")" }
            case .setgid, .setgroups: return c.credentials?.gid.map { "gid \($0)" }
            default: return nil
            }
        }

        func release() {
            for p in argv { free(p) }
            for p in envp { free(p) }
            free(cwd)
            free(pathC)
            argv = []
            envp = []
            cwd = nil
            pathC = nil
            for fd in opened { fd.close() }
            opened = []
        }
    }
}
