import Glibc
// swiftd: the command-line tool. Parsing and printing only; the behaviour is
// in the Daemonize library (ServiceController, Supervisor).
import Daemonize

CurrentProcess.exit(Commands.main(Array(CurrentProcess.arguments.dropFirst())))
