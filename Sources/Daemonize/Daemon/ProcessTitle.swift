internal import Glibc

/// Renames the running process as `ps` shows it: `comm` (15 bytes) and the
/// command line, rewritten in place over the original arguments.
package enum ProcessTitle {
    /// Sets the title to `title` ("swiftd: web"), truncated to the space the
    /// original arguments occupied.
    package static func set(_ title: String) {
        CurrentProcess.setName(title)
        let argc = Int(CommandLine.argc)
        let argv = CommandLine.unsafeArgv
        guard argc > 0, let first = argv[0] else { return }
        // The arguments are contiguous; the space runs to the end of the last one.
        var end = first
        for i in 0..<argc {
            guard let arg = argv[i], arg == end else { break }
            var length = 0
            while arg[length] != 0 { length += 1 }
            end = arg + length + 1
        }
        let capacity = end - first
        guard capacity > 2 else { return }
        // Only the title, its NUL and the last byte are written, not the
        // whole space: a supervisor of `swiftd start` of 1,000 names would
        // otherwise copy every page of those names (12 kB each). A last byte
        // that is not NUL tells Linux the arguments were overwritten: it
        // then shows them up to the first NUL, the title.
        let bytes = Array(title.utf8.prefix(capacity - 2))
        for (i, b) in bytes.enumerated() { first[i] = CChar(bitPattern: b) }
        first[bytes.count] = 0
        first[capacity - 1] = CChar(bitPattern: UInt8(ascii: " "))
    }
}
