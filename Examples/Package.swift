// swift-tools-version:6.0
// Programs a library user would write with Daemonize, and the tests that run
// them from outside (through /proc), as a separate package that depends on
// the library by path: only its public API is in reach. `make examples`
// builds and tests it; `make check` runs that too.
import PackageDescription

let daemonize: Target.Dependency = .product(name: "Daemonize", package: "swiftd")

let package = Package(
    name: "DaemonizeExamples",
    dependencies: [.package(name: "swiftd", path: "..")],
    targets: [
        // Relaunches a command until its exit status is not 75.
        .executableTarget(name: "restarter", dependencies: [daemonize]),
        // Runs itself as a child that exits 75 when its sources change.
        .executableTarget(name: "autoreload", dependencies: [daemonize]),
        // A daemon that re-executes itself when its binary's content changes.
        .executableTarget(name: "hotswap", dependencies: [daemonize]),
        // A hot upgrade: binds a port as root, drops to a user, re-executes itself on USR2.
        .executableTarget(name: "upgrade", dependencies: [daemonize]),
        // Supervises a command without swiftd's run files.
        .executableTarget(name: "supervise", dependencies: [daemonize]),
        // Every DaemonOptions setting: privileged action, user, outputs, timeout, pidfile.
        .executableTarget(name: "daemon", dependencies: [daemonize]),
        // Detaches as the first statement of an async main; Sendable lock and daemon.
        .executableTarget(name: "asyncmain", dependencies: [daemonize]),
        // FreeBSD's pidfile(3) test cases, and handing a lock across exec.
        .executableTarget(name: "pidfiles", dependencies: [daemonize]),
        // Notify: one message per call, and what became of it.
        .executableTarget(name: "notify", dependencies: [daemonize]),
        // An HTTP server that takes its sockets with Listeners.inherited() (swiftd --listen).
        .executableTarget(name: "server", dependencies: [daemonize]),
        // Runs the examples as separate processes and checks them from outside.
        // Compiles only if Daemonize's names leave swift-system's and swift-subprocess's alone
        // (the two modules are stand-ins that declare their top-level names).
        .target(name: "SystemPackage"),
        .target(name: "Subprocess"),
        .executableTarget(name: "clash", dependencies: [daemonize, "SystemPackage", "Subprocess"]),
        .testTarget(name: "ExamplesTests", dependencies: [daemonize]),
    ]
)
