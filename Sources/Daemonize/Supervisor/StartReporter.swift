internal import Glibc

/// Who hears how the supervised service is doing: in the background
/// (`swiftd start`), the start command waiting on the daemon's channel, told
/// once whether the first start succeeded; in the foreground (`swiftd run`),
/// a process manager above, when it gave a `NOTIFY_SOCKET` (systemd's
/// `Type=notify`), told readiness, status lines and the stop.
final class StartReporter {
    /// Under `swiftd run`: output to swiftd's own streams, exit with the service's status.
    let isForeground: Bool
    /// The start command, until it has been told.
    private var daemon: Daemon?
    /// The process manager above listens on `NOTIFY_SOCKET`.
    private let upstream: Bool
    /// The first start was reported (ready or failed): later reports are not.
    private var reported = false

    init(_ role: Supervisor.Role) {
        switch role {
        case .background(let daemon):
            self.daemon = daemon
            isForeground = false
            upstream = false
        case .foreground:
            isForeground = true
            upstream = Environment.value("NOTIFY_SOCKET") != nil
        }
    }

    /// The first start succeeded: "NAME started (pid N)".
    func ready(_ message: String) {
        guard !reported else { return }
        reported = true
        daemon?.ready(message)
        daemon = nil
        if upstream { Notify.send("READY=1\nSTATUS=" + message) }
    }

    /// The first start failed (or was stopped): the start command exits with
    /// `code`. `staying`: the supervisor stays (it waits for a change of a
    /// watched file), so the start command must not wait for its exit: the
    /// report says "done" with a failing code (`Daemon.ready(_:exitCode:)`).
    func failed(_ message: String, status: String, code: Int32, staying: Bool = false) {
        guard !reported else { return }
        reported = true
        if staying { daemon?.ready(message, exitCode: code) } else { daemon?.fail(message, exitCode: code) }
        daemon = nil
        if upstream { Notify.status(status) }
    }

    /// A STATUS= text of the service's, passed on.
    func status(_ text: String) {
        if upstream { Notify.status(text) }
    }

    /// The service is being stopped.
    func stopping() {
        if upstream { Notify.stopping() }
    }
}
