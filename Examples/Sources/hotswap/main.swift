// hotswap --pidfile FILE --log FILE [--reexec-before-ready]: a daemon that
// runs the new version of itself when its executable's content changes (a
// checksum, not a timestamp: copying the same bytes over it is no change).
// It keeps its pid and its pidfile lock across the exec, so no second
// instance can start in between. With --reexec-before-ready, the first
// generation re-executes itself before it reports ready: the process that
// started it still learns how the startup ended.
import Daemonize
import Glibc

var pidFile: String?
var log: String?
var reexecBeforeReady = false
var arguments = Array(CommandLine.arguments.dropFirst())
while let option = arguments.first {
    arguments.removeFirst()
    switch option {
    case "--pidfile": pidFile = arguments.removeFirst()
    case "--log": log = arguments.removeFirst()
    case "--reexec-before-ready": reexecBeforeReady = true
    default: complain("hotswap: unknown option \(option)"); exit(2)
    }
}

var options = DaemonOptions(pidFile: pidFile)
if let log {
    options.standardOutput = .file(log)
    options.standardError = .file(log)
}
let daemon = try Daemon.detach(options)

/// This program's file, as it was started (not the inode running now).
func executable() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let path = String(decoding: buffer[..<max(n, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return path.hasSuffix(" (deleted)") ? String(path.dropLast(10)) : path
}

let generation = (getenv("HOTSWAP_GENERATION").flatMap { Int(String(cString: $0)) } ?? 0) + 1
setenv("HOTSWAP_GENERATION", "\(generation)", 1)
print("generation \(generation) pid \(getpid()) exe \(executable())")
fflush(nil)
if reexecBeforeReady && generation == 1 {
    let error = daemon.reexec()
    print("reexec failed: \(error)")
    fflush(nil)
    exit(1)
}
daemon.ready("hotswap \(getpid()) ready")

let watcher = try FileWatcher(paths: [executable()])
print("watching \(executable())")
fflush(nil)
while true {
    if try watcher.waitForChange() {
        print("executable changed: re-executing")
        fflush(nil)
        let error = daemon.reexec()
        print("reexec failed: \(error)")
        fflush(nil)
    }
}

/// Writes `message` and a newline to standard error.
func complain(_ message: String) {
    let line = message + "\n"
    _ = write(2, line, line.utf8.count)
}
