/// Watches files and directory trees with inotify and says when their
/// content really changed: after a short quiet period (a burst of saves is one
/// change), comparing content hashes, so a `touch` or a save of the same bytes
/// is no change. Files are watched through their directory, which also sees
/// editors that save by renaming over the file, and paths that do not exist
/// yet are picked up when they appear.
final class FileWatcher {
    /// Quiet time after the last event before changes are looked at: long
    /// enough that an editor's save (write a copy, rename it over) or a
    /// burst of writes is one change, short enough to feel immediate.
    static let debounce: Int64 = 40_000_000
    /// Longest wait after the first event of a burst.
    static let longestWait: Int64 = 2_000_000_000

    let descriptor: FileDescriptor
    /// The watched paths, absolute; directories are watched recursively.
    private let roots: [String]
    private var watches: [Int32: String] = [:]
    private var watchedDirectories: [String: Int32] = [:]
    /// Content hash of every watched file.
    private var hashes: [String: UInt64] = [:]
    private var dirty: Set<String> = []
    private var firstEvent: Int64?
    /// When the pending changes are due to be looked at; nil when none are pending.
    private(set) var dueAt: Int64?

    private static let mask: UInt32 = UInt32(IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM
                                              | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)

    init(paths: [String]) throws {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        if fd < 0 { throw SystemError("inotify_init1") }
        descriptor = FileDescriptor(rawValue: fd)
        roots = paths.map { FileWatcher.normalize($0) }
        setUpWatches()
        for root in roots { scan(root, into: &hashes) }
    }

    /// Drops "." and duplicate or trailing slashes.
    static func normalize(_ path: String) -> String {
        let parts = path.split(separator: "/").filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    // MARK: Events

    /// Reads pending inotify events and schedules a look at what they touched.
    func readEvents() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(descriptor.rawValue, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            var offset = 0
            while offset + 16 <= n {
                let wd = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int32.self) }
                let eventMask = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self) }
                let length = Int(buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self) })
                let nameBytes = buffer[(offset + 16)..<min(n, offset + 16 + length)].prefix { $0 != 0 }
                offset += 16 + length
                if eventMask & UInt32(IN_Q_OVERFLOW) != 0 {
                    dirty.formUnion(roots)
                    continue
                }
                guard let directory = watches[wd] else { continue }
                if eventMask & UInt32(IN_IGNORED) != 0 {
                    watches[wd] = nil
                    watchedDirectories[directory] = nil
                    dirty.insert(directory)
                    continue
                }
                let path = nameBytes.isEmpty ? directory : Path.join(directory, String(decoding: nameBytes, as: UTF8.self))
                if isRelevant(path) { dirty.insert(path) }
            }
        }
        if !dirty.isEmpty {
            let now = Monotonic.now()
            if firstEvent == nil { firstEvent = now }
            dueAt = min(now + FileWatcher.debounce, firstEvent! + FileWatcher.longestWait)
        }
    }

    /// Looks at everything touched since the last call: true when the content
    /// of a watched file changed, appeared or disappeared.
    func takeChanges() -> Bool {
        let touched = dirty
        dirty = []
        dueAt = nil
        firstEvent = nil
        var changed = false
        for path in touched {
            let prefix = path == "/" ? "/" : path + "/"
            let before = hashes.filter { $0.key == path || $0.key.hasPrefix(prefix) }
            var after: [String: UInt64] = [:]
            scan(path, into: &after)
            if before != after { changed = true }
            for key in before.keys { hashes[key] = nil }
            hashes.merge(after) { $1 }
        }
        setUpWatches()
        return changed
    }

    // MARK: Watching

    /// True for a watched root, anything under a watched directory, or an
    /// ancestor of a root (whose creation matters).
    private func isRelevant(_ path: String) -> Bool {
        roots.contains { root in
            path == root || path.hasPrefix(root + "/") || root.hasPrefix(path == "/" ? "/" : path + "/")
        }
    }

    /// True when files under `path` are watched (it is, or is inside, a watched directory root).
    private func isInsideDirectoryRoot(_ path: String) -> Bool {
        roots.contains { root in
            (path == root || path.hasPrefix(root + "/")) && isDirectory(root)
        }
    }

    /// Adds watches: every directory of a directory root, and for every root
    /// its deepest existing ancestor directory (to see it created or replaced).
    private func setUpWatches() {
        for root in roots {
            if isDirectory(root) {
                watchTree(root)
            }
            var ancestor = Path.directory(of: root)
            while !isDirectory(ancestor) && ancestor != "/" { ancestor = Path.directory(of: ancestor) }
            addWatch(ancestor)
            // The chain between the ancestor and the root, as far as it exists.
            var component = root
            while component != ancestor && component != "/" {
                if isDirectory(component) { addWatch(component) }
                component = Path.directory(of: component)
            }
        }
    }

    private func watchTree(_ directory: String) {
        addWatch(directory)
        for name in ProcessTable.entries(of: directory) {
            let child = Path.join(directory, name)
            if let st = try? FileSystem.linkStatus(child), st.st_mode & S_IFMT == S_IFDIR { watchTree(child) }
        }
    }

    private func addWatch(_ directory: String) {
        guard watchedDirectories[directory] == nil else { return }
        let wd = inotify_add_watch(descriptor.rawValue, directory, FileWatcher.mask | UInt32(IN_ONLYDIR))
        guard wd >= 0 else { return }
        watches[wd] = directory
        watchedDirectories[directory] = wd
    }

    private func isDirectory(_ path: String) -> Bool {
        guard let st = try? FileSystem.status(path) else { return false }
        return st.st_mode & S_IFMT == S_IFDIR
    }

    /// Hashes every watched file at or under `path` into `result`.
    private func scan(_ path: String, into result: inout [String: UInt64]) {
        guard let st = try? FileSystem.status(path) else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            guard isRelevant(path) else { return }
            for name in ProcessTable.entries(of: path) { scan(Path.join(path, name), into: &result) }
        } else if st.st_mode & S_IFMT == S_IFREG, roots.contains(path) || isInsideDirectoryRoot(Path.directory(of: path)) {
            result[path] = FileWatcher.hash(path)
        }
    }

    /// FNV-1a over the file's bytes (and its length); 0 when unreadable.
    static func hash(_ path: String) -> UInt64 {
        guard let fd = try? FileDescriptor.open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY) else { return 0 }
        defer { fd.close() }
        var h: UInt64 = 0xcbf29ce484222325
        var total: UInt64 = 0
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd.rawValue, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            total += UInt64(n)
            for b in chunk[0..<n] {
                h ^= UInt64(b)
                h = h &* 0x100000001b3
            }
        }
        return h ^ total
    }
}
