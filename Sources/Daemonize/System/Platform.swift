// The one place that chooses the C library. Linux (Glibc, Musl) is the
// platform swiftd is built for; Darwin compiles where the calls exist.
#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Musl)
@_exported import Musl
#elseif canImport(Darwin)
@_exported import Darwin
#endif
@_exported import CDaemonize
