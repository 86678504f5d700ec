import Glibc
import Daemonize

/// Another user racing a `listen` unix socket's file: the directory the
/// socket goes in belongs to the hostile user, who swaps the socket's name
/// with a bait (`fixture race exchange`, renameat2 RENAME_EXCHANGE and back,
/// in a loop) while root starts and stops the service `rounds` times with
/// `owner=` the hostile user and `mode=0666`. The bait is a symlink to a
/// root-owned 0600 file outside the directory (`file: false`), or a root-owned
/// 0600 file in it (`file: true`): root's chown and chmod must never reach
/// it, and the bait must never be removed. Between rounds the racer is
/// stopped (SIGSTOP) while the test looks and tidies up.
package struct SocketRaceOutcome: Sendable {
    /// What went wrong: a changed target, a removed bait, an answer outside the exit codes.
    package var problems: [String] = []
    /// Starts that succeeded.
    package var started = 0
    /// Swaps the racer made.
    package var exchanges = 0
}

package func raceSocketFile(_ h: Harness, _ user: HostileUser, rounds: Int, file baitIsFile: Bool) throws -> SocketRaceOutcome {
    var outcome = SocketRaceOutcome()
    let directory = h.scratch.file("app")
    mkdir(directory, 0o755)
    chown(directory, user.uid, user.gid)
    let socket = Path.join(directory, "app.sock"), bait = Path.join(directory, "bait")
    let secret = baitIsFile ? bait : h.scratch.file("secret")
    try FileSystem.writeAtomically(secret, Array("root's\n".utf8), mode: 0o600)
    if !baitIsFile {
        let linked = try user.run(h, "/bin/ln", ["-s", secret, bait])
        if linked.code != 0 { throw SystemError("symlink", path: "\(bait): \(linked)", errno: .accessDenied) }
    }
    let baitID = try FileSystem.linkStatus(bait).map { FileLocks.FileID($0) }
    let racer = try user.spawn(h, h.fixturePath, ["race", "exchange", "--dir", directory, "--name", "app.sock", "--bait", "bait", "--seconds", "900"])
    defer { racer.signal(SIGKILL) }
    func stopped() -> Bool { ProcessTable.stat(of: racer.pid)?.state == UInt8(ascii: "T") }
    for round in 1...rounds {
        racer.signal(SIGCONT)
        let start = try h.swiftd(["start", "app", "--listen", "unix:\(socket),owner=\(HostileUser.name),mode=0666", "--", h.fixturePath, "service"])
        if start.code == 0 { outcome.started += 1 } else if start.code != 1 { outcome.problems.append("round \(round): start \(start)") }
        let stop = try h.swiftd(["stop", "app"])
        if stop.code != 0 { outcome.problems.append("round \(round): stop \(stop)") }
        racer.signal(SIGSTOP)
        guard eventually(stopped) else { throw SystemError("SIGSTOP", path: "the racer", errno: .noSuchProcess) }
        // The bait, wherever the racer left it, and the file it stands for.
        var baitAt: String?
        for path in [bait, socket] {
            guard let st = try FileSystem.linkStatus(path) else { continue }
            if st.st_mode & S_IFMT == S_IFSOCK { try FileSystem.remove(path) }
            if FileLocks.FileID(st) == baitID { baitAt = path }
        }
        guard let baitAt else {
            outcome.problems.append("round \(round): the bait was removed (start: \(start), stop: \(stop), \(ls(directory)))")
            break
        }
        if baitAt != bait { try FileSystem.rename(baitAt, to: bait) }
        let target = try FileSystem.linkStatus(secret)
        if let target, target.st_mode & 0o7777 != 0o600 || target.st_uid != 0 || target.st_gid != 0 {
            outcome.problems.append("round \(round): \(secret) is now mode \(String(target.st_mode & 0o7777, radix: 8)), uid \(target.st_uid), gid \(target.st_gid)")
            break
        }
    }
    racer.signal(SIGCONT)
    racer.signal(SIGTERM)
    let report = racer.wait(timeout: 10)
    outcome.exchanges = Int(report.values["exchanges"] ?? "") ?? 0
    if h.text(baitIsFile ? "app/bait" : "secret") != "root's\n" { outcome.problems.append("the target's content changed") }
    return outcome
}

/// The names in `directory` with their type, mode and owner, for a report.
func ls(_ directory: String) -> String {
    (try? run("/bin/ls", ["-la", directory]).stdout) ?? "?"
}
