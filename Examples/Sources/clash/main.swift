// clash: a file that imports Daemonize beside swift-system's and
// swift-subprocess's names (stand-ins with the same names) and uses theirs
// unqualified. It only has to compile: no name of Daemonize's is in the
// way, but Errno, which both Daemonize and swift-system declare.
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
