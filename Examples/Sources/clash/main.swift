// clash: a file that imports Daemonize beside swift-system's and
// swift-subprocess's names (stand-ins with the same names) and uses theirs
// unqualified. It only has to compile: no name of Daemonize's is in the
// way, but Errno, which both Daemonize and swift-system declare. Where the
// two meet, a pattern picks its Errno by the member's name (Daemonize's
// `noSuchFile`, swift-system's `noSuchFileOrDirectory`); a type annotation,
// or a name both have (`notPermitted`, `wouldBlock`), says the module.
import Daemonize
import Subprocess
import SystemPackage

let descriptor = FileDescriptor(rawValue: 1)
let path = FilePath("/run/app.pid")
let signal = Signal(rawValue: 15)
let environment = Environment.inherit
let configuration = Configuration(Executable.name("true"))
let systemErrno = SystemPackage.Errno(rawValue: 2)
let ourErrno = Daemonize.Errno.noSuchFile
let processSignal = ProcessSignal.terminate
let options = DaemonOptions(pidFile: path.string, keepDescriptors: [descriptor.rawValue])
print(signal.rawValue == processSignal.rawValue, systemErrno.rawValue == ourErrno.rawValue, options.pidFile ?? "")

// Daemonize's error caught by its own Errno, unqualified; swift-system's by theirs.
func caught() -> String {
    do {
        _ = try PIDFile.acquire(at: "/nonexistent-directory/app.pid")
        return "acquired"
    } catch Errno.noSuchFileOrDirectory {
        return "swift-system's"
    } catch Errno.noSuchFile {
        return "Daemonize's"
    } catch let error as SystemError where error.errno == .accessDenied {
        return "denied"
    } catch {
        return "other"
    }
}
let theirs: SystemPackage.Errno = .wouldBlock
let ours: Daemonize.Errno = .wouldBlock
print(caught(), theirs.rawValue == ours.rawValue)
