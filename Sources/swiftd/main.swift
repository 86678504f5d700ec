// Placeholder: the commands arrive with the command-line issue.
import Daemonize

print("swiftd 0.1.0")
