// swift-tools-version:6.0
// swiftd: a classic Unix daemonizer with pidfile locking. No package dependencies.
import PackageDescription

// The tool is compiled without the implicit `import _StringProcessing` (Regex and the string
// algorithms built on it): it uses none of it, and the import alone links 1.3 MB into the static
// binary every swiftd command loads. The library keeps the import (nothing in it uses the module
// either): unsafe flags would keep a package that depends on Daemonize by version from building.
let noStringProcessing: [SwiftSetting] = [.unsafeFlags(["-Xfrontend", "-disable-implicit-string-processing-module-import"])]

let package = Package(
    name: "swiftd",
    products: [
        .library(name: "Daemonize", targets: ["Daemonize"]),
        .executable(name: "swiftd", targets: ["swiftd"]),
    ],
    targets: [
        // Everything that runs between fork and exec, and the libc pieces Swift cannot import.
        .target(name: "CDaemonize"),
        .target(name: "Daemonize", dependencies: ["CDaemonize"]),
        // The swiftd command's argv, handed to the Swift runtime without its /proc/self/maps scan.
        .target(name: "SwiftdArguments"),
        .executableTarget(name: "swiftd", dependencies: ["Daemonize", "SwiftdArguments"], swiftSettings: noStringProcessing),
        // A test fixture: calls the library and plays the service in end-to-end tests.
        .executableTarget(name: "fixture", dependencies: ["Daemonize"]),
        // Spawning (posix_spawn, never fork), scratch directories and cleanup for the tests.
        .target(name: "TestSupport", dependencies: ["Daemonize"], path: "Tests/TestSupport"),
        .testTarget(name: "DaemonizeTests", dependencies: ["Daemonize", "TestSupport", "fixture"]),
        .testTarget(name: "SwiftdTests", dependencies: ["Daemonize", "TestSupport", "swiftd", "fixture"]),
        // Longer than a minute: run by `make stress` (SWIFTD_STRESS=1), skipped otherwise.
        .testTarget(name: "StressTests", dependencies: ["Daemonize", "TestSupport", "swiftd", "fixture"]),
    ]
)
