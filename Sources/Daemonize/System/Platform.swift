// The one place that chooses the C library: swiftd is built for Linux with
// glibc (pidfds, signalfd, inotify, /proc and glibc's headers are assumed
// throughout). Anything else stops the build here rather than failing later.
#if os(Linux) && canImport(Glibc)
@_exported import Glibc
#else
#error("swiftd builds for Linux with glibc only")
#endif
@_exported import CDaemonize
