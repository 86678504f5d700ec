internal import Glibc

/// Tells a supervisor about readiness over `$NOTIFY_SOCKET`, in the sd_notify
/// datagram protocol: works under systemd's `Type=notify` and under
/// `swiftd --ready notify`. Every call is a no-op when the variable is unset.
package enum Notify {
    /// Sends "READY=1": startup is complete.
    @discardableResult
    package static func ready(status: String? = nil) -> Bool {
        send("READY=1" + (status.map { "\nSTATUS=\($0)" } ?? ""))
    }

    /// Sends "STATUS=text": a line for `status` to show.
    @discardableResult
    package static func status(_ text: String) -> Bool { send("STATUS=\(text)") }

    /// Sends "STOPPING=1".
    @discardableResult
    package static func stopping() -> Bool { send("STOPPING=1") }

    /// Sends "RELOADING=1".
    @discardableResult
    package static func reloading() -> Bool { send("RELOADING=1") }

    /// Sends "ERRNO=n": startup failed with this errno.
    @discardableResult
    package static func failed(errno: Errno) -> Bool { send("ERRNO=\(errno.rawValue)") }

    /// Sends `state` ("KEY=VALUE" lines) as one datagram to `$NOTIFY_SOCKET`.
    /// Returns false when the variable is unset or the send failed.
    @discardableResult
    package static func send(_ state: String, socket path: String? = Environment.value("NOTIFY_SOCKET")) -> Bool {
        guard let path, !path.isEmpty, let address = NotifyAddress(path) else { return false }
        return (try? DatagramSocket.send(Array(state.utf8), to: address)) != nil
    }
}
