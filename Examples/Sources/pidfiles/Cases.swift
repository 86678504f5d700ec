import Daemonize
import Glibc

/// The cases, each returning nil when it holds and what went wrong otherwise.
enum Cases {
    static let all: [(String, @Sendable (String) throws -> String?)] = [
        ("uncontested", uncontested), ("self", contestedBySelf), ("contested", contested),
        ("inherited-close", { try inherited($0, parentLetsGo: { $0.close() }) }),
        ("inherited-release", { try inherited($0, parentLetsGo: { $0.release() }) }),
        ("inherited-drop", { try inherited($0, parentLetsGo: { _ in }) }),
        ("relative", relative), ("stale", stale), ("exec-adopt", execAdopt), ("fork-adopt", forkAdopt),
        ("adopt-refused", adoptRefused), ("catch-errno", catchErrno),
    ]

    /// Children still running, killed after each case.
    nonisolated(unsafe) static var children: [pid_t] = []
    /// Locks a child holds until it is killed.
    nonisolated(unsafe) static var held: [PIDFile] = []

    static func scratch(_ name: String) -> String {
        var template = Array("/tmp/pidfiles-\(name).XXXXXX".utf8CString)
        return String(cString: mkdtemp(&template))
    }

    static func cleanUp() {
        for pid in children {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        children = []
    }

    /// Forks a child that runs `body`, then tells the parent (one byte on a
    /// pipe) and waits to be killed. Returns once the child has told.
    static func child(_ body: () throws -> Void) -> pid_t {
        var fds: [Int32] = [0, 0]
        pipe(&fds)
        let pid = fork()
        if pid == 0 {
            close(fds[0])
            do { try body() } catch { _exit(3) }
            var byte: UInt8 = 1
            write(fds[1], &byte, 1)
            while true { pause() }
        }
        close(fds[1])
        var byte: UInt8 = 0
        read(fds[0], &byte, 1)
        close(fds[0])
        children.append(pid)
        return pid
    }

    static func content(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buffer, buffer.count)
        return String(decoding: buffer[..<max(n, 0)], as: UTF8.self)
    }

    /// The lock is held by someone else who wrote `pid`.
    static func expectLocked(_ path: String, by pid: pid_t) -> String? {
        do {
            let lock = try PIDFile.acquire(at: path)
            lock.release()
            return "acquire succeeded while pid \(pid) holds the lock"
        } catch let locked as PIDFile.Locked {
            if locked.pid != pid { return "Locked names pid \(locked.pid.map(String.init) ?? "none"), not \(pid)" }
            if locked.holder == nil { return "Locked.holder is not filled" }
            return nil
        } catch {
            return "acquire threw \(error)"
        }
    }

    static func uncontested(_ dir: String) throws -> String? {
        let path = dir + "/a.pid"
        let lock = try PIDFile.acquire(at: path)
        if content(path) != "\(getpid())\n" { return "content \(content(path) ?? "none")" }
        if PIDFile.status(at: path) != .running(pid: getpid()) { return "status \(PIDFile.status(at: path))" }
        lock.release()
        return access(path, F_OK) == 0 ? "release left the file" : nil
    }

    static func contestedBySelf(_ dir: String) throws -> String? {
        let path = dir + "/a.pid"
        let lock = try PIDFile.acquire(at: path)
        defer { lock.release() }
        return expectLocked(path, by: getpid())
    }

    static func contested(_ dir: String) throws -> String? {
        let path = dir + "/a.pid"
        let pid = child { held.append(try PIDFile.acquire(at: path)) }
        return expectLocked(path, by: pid)
    }

    /// The parent takes the lock and forks; the child writes its pid; the
    /// parent lets go (close, release or drop): the child still holds the
    /// lock and the file, so nobody else can take it.
    static func inherited(_ dir: String, parentLetsGo: (PIDFile) -> Void) throws -> String? {
        let path = dir + "/a.pid"
        var pid: pid_t = 0
        do {
            let lock = try PIDFile.acquire(at: path, pid: nil)
            pid = child { try lock.write(pid: getpid()) }
            parentLetsGo(lock)
        }
        if access(path, F_OK) != 0 { return "the file the child holds was removed" }
        if let problem = expectLocked(path, by: pid) { return problem }
        // Once the child is gone too, the lock is free.
        cleanUp()
        let again = try PIDFile.acquire(at: path)
        again.release()
        return nil
    }

    static func relative(_ dir: String) throws -> String? {
        chdir(dir)
        defer { chdir("/") }
        let lock = try PIDFile.acquire(at: "rel.pid")
        if PIDFile.status(at: dir + "/rel.pid") != .running(pid: getpid()) { return "status \(PIDFile.status(at: dir + "/rel.pid"))" }
        lock.release()
        return access(dir + "/rel.pid", F_OK) == 0 ? "release left the file" : nil
    }

    static func stale(_ dir: String) throws -> String? {
        let path = dir + "/a.pid"
        let fd = open(path, O_WRONLY | O_CREAT, 0o600)
        _ = write(fd, "99999\n", 6)
        close(fd)
        if PIDFile.status(at: path) != .stale(pid: 99999) { return "status \(PIDFile.status(at: path))" }
        let lock = try PIDFile.acquire(at: path)
        defer { lock.release() }
        return content(path) == "\(getpid())\n" ? nil : "content \(content(path) ?? "none")"
    }

    /// A child takes the lock and execs a new program, which adopts it
    /// through DAEMONIZE_PIDFILE: the file names the same pid throughout.
    /// A grandchild exec'd with the same environment first must not adopt
    /// it (the variable names its parent's pid).
    static func execAdopt(_ dir: String) throws -> String? {
        let path = dir + "/a.pid"
        var fds: [Int32] = [0, 0]
        pipe(&fds)
        let words: [String] = [CommandLine.arguments[0], "--adopted", path, "\(fds[1])"]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        let pid = fork()
        if pid == 0 {
            close(fds[0])
            guard let lock = try? PIDFile.acquire(at: path), (try? lock.keepAcrossExec()) != nil else { _exit(3) }
            let grandchild = fork()
            if grandchild == 0 {
                execv("/proc/self/exe", argv)
                _exit(127)
            }
            var status: Int32 = 0
            waitpid(grandchild, &status, 0)
            execv("/proc/self/exe", argv)
            _exit(127)
        }
        children.append(pid)
        close(fds[1])
        var answers = [UInt8](repeating: 0, count: 2)
        var got = 0
        while got < 2 {
            let n = answers.withUnsafeMutableBytes { read(fds[0], $0.baseAddress! + got, 2 - got) }
            if n <= 0 { break }
            got += n
        }
        close(fds[0])
        guard answers == Array("ny".utf8) else { return "expected the grandchild to refuse and the child to adopt, got \(answers)" }
        return expectLocked(path, by: pid)
    }

    /// The program exec'd by `execAdopt`: adopts the lock if it is meant
    /// for it, says which ("y" or "n") on `report`, then holds it.
    static func adoptedAfterExec(path: String, report: CInt) -> Never {
        let lock = try? PIDFile.inherited(at: path)
        var answer = UInt8(ascii: lock == nil ? "n" : "y")
        write(report, &answer, 1)
        if lock == nil { exit(0) }
        while true { pause() }
    }

    /// A forked child adopts the descriptor it inherited, explicitly.
    static func forkAdopt(_ dir: String) throws -> String? {
        let path = dir + "/a.pid"
        let lock = try PIDFile.acquire(at: path, pid: nil)
        let fd = lock.descriptor!
        let pid = child { held.append(try PIDFile.adopt(descriptor: fd, at: path)) }
        lock.close()
        return expectLocked(path, by: pid)
    }

    /// A descriptor that is not the pidfile, or not its lock, is refused.
    static func adoptRefused(_ dir: String) throws -> String? {
        let path = dir + "/a.pid"
        let null = open("/dev/null", O_RDONLY)
        defer { close(null) }
        do {
            _ = try PIDFile.adopt(descriptor: null, at: path)
            return "adopted /dev/null"
        } catch let error as InvalidFile where error.problem == .otherFile {
        } catch let error as SystemError where error.errno == .noSuchFile {
        }
        let pid = child { held.append(try PIDFile.acquire(at: path)) }
        let other = open(path, O_RDONLY)
        defer { close(other) }
        do {
            _ = try PIDFile.adopt(descriptor: other, at: path)
            return "adopted a descriptor whose lock pid \(pid) holds"
        } catch let locked as PIDFile.Locked {
            return locked.pid == pid ? nil : "Locked names \(locked.pid.map(String.init) ?? "none")"
        }
    }

    /// Errors carry the call, the path and an errno a catch can match.
    static func catchErrno(_ dir: String) throws -> String? {
        let path = dir + "/missing/a.pid"
        do {
            _ = try PIDFile.acquire(at: path)
            return "acquired in a missing directory"
        } catch Errno.noSuchFile {
        }
        do {
            _ = try PIDFile.acquire(at: path)
        } catch let error as SystemError {
            if error.path == nil || error.operation.isEmpty { return "no operation or path in \(error)" }
        }
        return nil
    }
}
