// The one place that states the platform: swiftd is built for Linux with
// glibc (pidfds, signalfd, inotify, /proc and glibc's headers are assumed
// throughout). Anything else stops the build here rather than failing later.
//
// Every file imports Glibc and the C shims (CDaemonize) itself, at the lowest
// access level its declarations need: `import Daemonize` re-exports neither.
#if !(os(Linux) && canImport(Glibc))
#error("swiftd builds for Linux with glibc only")
#endif
