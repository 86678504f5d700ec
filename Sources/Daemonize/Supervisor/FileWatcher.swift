internal import Glibc

/// Watches files and directory trees with inotify and says when their
/// content really changed: after a short quiet period (a burst of saves is one
/// change), comparing content hashes, so a `touch` or a save of the same bytes
/// is no change. Files are watched through their directory, which also sees
/// editors that save by renaming over the file, and paths that do not exist
/// yet are picked up when they appear.
///
/// Bounded whatever the tree holds: symlinks inside a tree are not followed
/// (a link to an ancestor is no loop), at most `maxDepth` levels, `maxEntries`
/// files and directories are looked at, and a file larger than `maxHashed`
/// is compared by size and modification time. Paths the supervisor writes
/// itself (the service's log, its run files) are ignored, so that its own
/// writes never count as a change.
///
/// For a program of your own (an autoreloader, a hot swap), `waitForChange`
/// is the whole interface. Use one watcher from one thread at a time.
public final class FileWatcher {
    /// Quiet time after the last event before changes are looked at: long
    /// enough that an editor's save (write a copy, rename it over) or a
    /// burst of writes is one change, short enough to feel immediate.
    static let debounce: Int64 = 40_000_000
    /// Longest wait after the first event of a burst.
    static let longestWait: Int64 = 2_000_000_000
    static let maxDepth = 64
    static let maxEntries = 100_000
    static let maxHashed: Int64 = 64 << 20

    private let inotify: Inotify
    var descriptor: FileDescriptor { inotify.descriptor }
    /// The watched paths, absolute; directories are watched recursively.
    private let roots: [String]
    /// Paths (and their rotations, `path.N`) never taken for changes.
    private let ignored: [String]
    private var watches: [Int32: String] = [:]
    private var watchedDirectories: [String: Int32] = [:]
    /// Content hash of every watched file.
    private var hashes: [String: UInt64] = [:]
    private var dirty: Set<String> = []
    private var firstEvent: Int64?
    /// When the pending changes are due to be looked at; nil when none are pending.
    private(set) var dueAt: Int64?
    /// Entries looked at by the current scan (bounded by `maxEntries`).
    private var budget = 0

    private static let mask: UInt32 = UInt32(IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM
                                              | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)

    /// Watches `paths` (files or directory trees; relative ones are taken
    /// against the current directory, missing ones are picked up when they
    /// appear), their content as of now the reference. The C function is
    /// `inotify_init1`.
    ///
    /// - Throws: a `SystemError` when inotify cannot be set up (`EMFILE`:
    ///   the user's inotify instances are used up).
    public convenience init(paths: [String]) throws {
        try self.init(paths: paths, ignoring: [])
    }

    init(paths: [String], ignoring ignored: [String]) throws {
        inotify = try Inotify()
        roots = paths.map { FileWatcher.normalize(Path.absolute($0)) }
        self.ignored = ignored.map { FileWatcher.normalize(Path.absolute($0)) }
        setUpWatches()
        budget = FileWatcher.maxEntries
        for root in roots { scan(root, depth: 0, into: &hashes) }
    }

    /// Drops "." and duplicate or trailing slashes.
    static func normalize(_ path: String) -> String {
        let parts = path.split(scalar: "/").filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    // MARK: Events

    /// Reads pending inotify events and schedules a look at what they touched.
    func readEvents() {
        for event in inotify.events() {
            if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                dirty.formUnion(roots)
                continue
            }
            guard let directory = watches[event.watch] else { continue }
            if event.mask & UInt32(IN_IGNORED) != 0 {
                watches[event.watch] = nil
                watchedDirectories[directory] = nil
                dirty.insert(directory)
                continue
            }
            let path = event.name.isEmpty ? directory : Path.join(directory, String(platformBytes: event.name))
            if isRelevant(path) && !isIgnored(path) { dirty.insert(path) }
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
        // Watches first, then the scan: a file made in a new directory after
        // the scan read it, and before its watch, would be seen by neither.
        setUpWatches()
        budget = FileWatcher.maxEntries
        for path in touched {
            let prefix = path == "/" ? "/" : path + "/"
            let before = hashes.filter { $0.key == path || $0.key.hasScalarPrefix(prefix) }
            var after: [String: UInt64] = [:]
            scan(path, depth: depth(of: path), into: &after)
            if before != after { changed = true }
            for key in before.keys { hashes[key] = nil }
            hashes.merge(after) { $1 }
        }
        return changed
    }

    /// Waits until the content of a watched file changes (or a file
    /// appears or disappears), `timeout` at most (nil: for ever). A burst of
    /// writes and saves is one change, seen once it has been quiet for 40 ms;
    /// a write of the same bytes, a `touch`, a `chmod` is none. The C
    /// functions are `poll` and `read` on the inotify descriptor.
    ///
    /// - Returns: True for a change, false when `timeout` passed first.
    public func waitForChange(timeout: Duration? = nil) throws -> Bool {
        let deadline = timeout.map { Monotonic.now() + Interval($0).nanoseconds }
        while true {
            let now = Monotonic.now()
            if let due = dueAt, now >= due, takeChanges() { return true }
            if let deadline, now >= deadline { return false }
            let until = [dueAt, deadline].compactMap { $0 }.min()
            if try descriptor.waitReadable(timeoutMilliseconds: until.map { Monotonic.millisecondsUntil($0) } ?? -1) {
                readEvents()
            }
        }
    }

    // MARK: Watching

    /// True for a watched root, anything under a watched directory, or an
    /// ancestor of a root (whose creation matters).
    private func isRelevant(_ path: String) -> Bool {
        roots.contains { root in
            path == root || path.hasScalarPrefix(root + "/") || root.hasScalarPrefix(path == "/" ? "/" : path + "/")
        }
    }

    private func isIgnored(_ path: String) -> Bool {
        ignored.contains { path == $0 || path.hasScalarPrefix($0 + ".") }
    }

    /// True when files under `path` are watched (it is, or is inside, a watched directory root).
    private func isInsideDirectoryRoot(_ path: String) -> Bool {
        roots.contains { root in
            (path == root || path.hasScalarPrefix(root + "/")) && isDirectory(root)
        }
    }

    /// How many levels below its root `path` is (0 for a root or outside one).
    private func depth(of path: String) -> Int {
        guard let root = roots.first(where: { path.hasScalarPrefix($0 + "/") }) else { return 0 }
        return String(String.UnicodeScalarView(path.unicodeScalars.dropFirst(root.unicodeScalars.count))).split(scalar: "/").count
    }

    /// Adds watches: every directory of a directory root, and for every root
    /// its deepest existing ancestor directory (to see it created or replaced).
    private func setUpWatches() {
        var left = FileWatcher.maxEntries
        for root in roots {
            if isDirectory(root) {
                watchTree(root, depth: 0, budget: &left)
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

    private func watchTree(_ directory: String, depth: Int, budget: inout Int) {
        guard depth <= FileWatcher.maxDepth, budget > 0 else { return }
        addWatch(directory)
        for name in ProcessTable.entries(of: directory) {
            budget -= 1
            if budget <= 0 { return }
            let child = Path.join(directory, name)
            if let st = try? FileSystem.linkStatus(child), st.st_mode & S_IFMT == S_IFDIR { watchTree(child, depth: depth + 1, budget: &budget) }
        }
    }

    private func addWatch(_ directory: String) {
        guard watchedDirectories[directory] == nil, !isIgnored(directory) else { return }
        guard let wd = try? inotify.add(directory, mask: FileWatcher.mask | UInt32(IN_ONLYDIR)) else { return }
        watches[wd] = directory
        watchedDirectories[directory] = wd
    }

    private func isDirectory(_ path: String) -> Bool {
        guard let st = try? FileSystem.status(path) else { return false }
        return st.st_mode & S_IFMT == S_IFDIR
    }

    /// Hashes every watched file at or under `path` into `result`. A root is
    /// followed if it is a symlink; nothing below a root is.
    private func scan(_ path: String, depth: Int, into result: inout [String: UInt64]) {
        guard budget > 0, depth <= FileWatcher.maxDepth, !isIgnored(path) else { return }
        budget -= 1
        let status = roots.contains(path) ? try? FileSystem.status(path) : try? FileSystem.linkStatus(path)
        guard let st = status ?? nil else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            guard isRelevant(path) else { return }
            for name in ProcessTable.entries(of: path) { scan(Path.join(path, name), depth: depth + 1, into: &result) }
        } else if st.st_mode & S_IFMT == S_IFREG, roots.contains(path) || isInsideDirectoryRoot(Path.directory(of: path)) {
            result[path] = Int64(st.st_size) > FileWatcher.maxHashed ? FileWatcher.fingerprint(st) : FileWatcher.hash(path)
        }
    }

    /// Size, modification time and inode: for files too large to read on every change.
    static func fingerprint(_ st: stat) -> UInt64 {
        var h = UInt64(bitPattern: Int64(st.st_size)) &* 0x100000001b3
        h ^= UInt64(bitPattern: Int64(st.st_mtim.tv_sec)) &* 31 &+ UInt64(bitPattern: Int64(st.st_mtim.tv_nsec))
        return h ^ UInt64(st.st_ino)
    }

    /// FNV-1a over the file's bytes (and its length); 0 when unreadable.
    static func hash(_ path: String) -> UInt64 {
        guard let fd = try? FileDescriptor.open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY) else { return 0 }
        defer { fd.close() }
        var h: UInt64 = 0xcbf29ce484222325
        var total: UInt64 = 0
        var chunk = [UInt8](repeating: 0, count: 65536)
        while total < UInt64(maxHashed) {
            let n = (try? chunk.withUnsafeMutableBytes { try fd.read(into: $0) }) ?? 0
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
