internal import Glibc

/// Gives back the resident pages a quiet supervisor does not need: the code
/// and read-only data of the binary and its libraries that startup touched
/// once. Only read-only file mappings in which `/proc/self/smaps` shows no
/// anonymous (copy-on-write) page are released, with `MADV_DONTNEED`: every
/// page of them is the page cache's own page, which stays there and faults
/// back in when next used. ("Dirty" alone only means the file itself is not
/// yet written back, as for a freshly built binary.) Of the stack, only the
/// pages below the waiting frame go: startup's deeper calls touched them,
/// they are dead, and come back zeroed if ever used (measured: a quiet
/// supervisor's stack 36 -> 24 KiB, its RssAnon 212 -> 200 KiB; keeping one
/// page under the waiting frame's instead of two, ten supervisors' stacks
/// 22 -> 16 KiB on average, their RssAnon 150 -> 144 KiB).
/// Relocated data and the heap are never touched (free heap memory is given
/// back by `malloc_trim`).
///
/// The release happens in the same C call that then sleeps in `poll`, so
/// that no code runs in between to fault pages straight back in (the kernel
/// maps 64 KiB around each faulting page).
enum ResidentMemory {
    /// What a quiet supervisor gives back.
    struct Release {
        /// The (start, length) pairs of the mappings that are safe to release.
        var ranges: [UInt] = []
        /// Where the main thread's stack mapping starts (0: not found).
        var stackStart: UInt = 0
    }

    /// Found once in `/proc/self/smaps`.
    static func releasable() -> Release {
        guard let smaps = try? FileSystem.read("/proc/self/smaps", limit: 1 << 22) else { return Release() }
        var ranges: [UInt] = []
        var stackStart: UInt = 0
        var current: (start: UInt, end: UInt, candidate: Bool)?
        var clean = true
        func finish() {
            if let mapping = current, mapping.candidate, clean {
                ranges.append(mapping.start)
                ranges.append(mapping.end - mapping.start)
            }
        }
        for line in smaps.split(separator: 10) {
            guard let first = line.first else { continue }
            let isHeader = (first >= 48 && first <= 57) || (first >= 97 && first <= 102)
            if isHeader, let dash = line.firstIndex(of: UInt8(ascii: "-")), line.contains(32) {
                finish()
                let fields = line.split(separator: 32, omittingEmptySubsequences: true)
                guard fields.count >= 5,
                      let start = UInt(String(decoding: line[line.startIndex..<dash], as: UTF8.self), radix: 16),
                      let end = UInt(String(decoding: fields[0][(dash + 1)...], as: UTF8.self), radix: 16) else {
                    current = nil
                    continue
                }
                let permissions = fields[1]
                let path = fields.count >= 6 ? fields[5] : []
                let writable = permissions.count > 1 && permissions[permissions.startIndex + 1] == UInt8(ascii: "w")
                if path.elementsEqual("[stack]".utf8) { stackStart = start }
                current = (start, end, path.first == UInt8(ascii: "/") && !writable)
                clean = true
                continue
            }
            if line.starts(with: "Anonymous:".utf8) {
                let value = line.dropFirst(10).split(separator: 32).first.map { String(decoding: $0, as: UTF8.self) }
                if value != "0" { clean = false }
            }
        }
        finish()
        return Release(ranges: ranges, stackStart: stackStart)
    }
}
