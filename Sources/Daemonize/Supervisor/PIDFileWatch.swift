/// Notices the supervisor's pidfile being removed or renamed away (an
/// administrator, a /tmp cleaner) and puts it back at once, so that `status`,
/// `stop` and `start` keep finding the service. Until it is back, commands
/// find the supervisor through its record (pid and start time).
///
/// The watch is on the locked file itself: removing it changes its link count
/// (`IN_ATTRIB`), renaming it moves it (`IN_MOVE_SELF`); the supervisor's own
/// writes (`IN_MODIFY`) do not wake it.
final class PIDFileWatch {
    private let inotify: Inotify
    private var watch: Int32?
    private static let mask = UInt32(IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF | IN_DONT_FOLLOW)

    var descriptor: FileDescriptor { inotify.descriptor }

    init(_ pidFile: PIDFile) throws {
        inotify = try Inotify()
        watch = try? inotify.add(pidFile.path, mask: PIDFileWatch.mask)
    }

    /// Reads the pending events and restores the file if it is gone.
    /// Returns a line for the log when it did something (or failed to).
    func handleEvents(_ pidFile: PIDFile, pid: pid_t?) -> String? {
        _ = inotify.events()
        guard pidFile.isUnlinked else { return nil }
        do {
            guard try pidFile.restore(pid: pid) else { return nil }
            if let watch { inotify.remove(watch) }
            watch = try? inotify.add(pidFile.path, mask: PIDFileWatch.mask)
            return "\(pidFile.path) was removed: put back"
        } catch {
            return "\(pidFile.path) was removed and could not be put back: \(error)"
        }
    }
}
