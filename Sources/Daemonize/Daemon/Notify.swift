internal import Glibc

/// Tells a supervisor about the service over `$NOTIFY_SOCKET`, in the
/// sd_notify datagram protocol: works under systemd (`Type=notify`,
/// `Type=notify-reload`, `WatchdogSec=`) and under `swiftd --ready notify`
/// (`--watchdog`). Each call sends one datagram (`sendto` on a unix
/// datagram socket) and returns without waiting for an answer; sd_notify(3)
/// is the C equivalent.
public enum Notify {
    /// What became of a message.
    public enum Delivery: Hashable, Sendable {
        /// The supervisor's socket took it.
        case sent
        /// No supervisor listens: `$NOTIFY_SOCKET` is unset or empty. Not an
        /// error: the same program runs with and without one.
        case noSupervisor
        /// There is a supervisor but the message did not reach it (a
        /// malformed address, a socket gone, a full queue).
        case failed(SystemError)
    }

    /// Sends "READY=1" (and "STATUS=status"): startup is complete.
    @discardableResult
    public static func ready(status: String? = nil) -> Delivery {
        send("READY=1" + (status.map { "\nSTATUS=\($0)" } ?? ""))
    }

    /// Sends "STATUS=text": a line for `status` to show.
    @discardableResult
    public static func status(_ text: String) -> Delivery { send("STATUS=\(text)") }

    /// Sends "STOPPING=1": the service is shutting down.
    @discardableResult
    public static func stopping() -> Delivery { send("STOPPING=1") }

    /// Sends "RELOADING=1" with "MONOTONIC_USEC=" the current
    /// `CLOCK_MONOTONIC` time in microseconds, as systemd 253's
    /// `Type=notify-reload` requires. Send `ready()` when the reload is done.
    @discardableResult
    public static func reloading() -> Delivery {
        send("RELOADING=1\nMONOTONIC_USEC=\(Monotonic.now() / 1000)")
    }

    /// Sends "WATCHDOG=1": the service is alive. Send it at least every
    /// `watchdogInterval` (half of it is the usual pace), or the supervisor
    /// kills the service and restarts it.
    @discardableResult
    public static func watchdog() -> Delivery { send("WATCHDOG=1") }

    /// How often the supervisor wants `watchdog()`, from `$WATCHDOG_USEC`;
    /// nil when it wants none (unset, malformed, or `$WATCHDOG_PID` names
    /// another process: the variables were meant for a parent).
    public static var watchdogInterval: Duration? {
        guard let text = Environment.value("WATCHDOG_USEC"), let usec = UInt64(text), usec > 0, usec <= UInt64(Int64.max) else { return nil }
        if let owner = Environment.value("WATCHDOG_PID"), pid_t(owner) != CurrentProcess.id { return nil }
        return .microseconds(Int64(usec))
    }

    /// Sends "ERRNO=n": startup failed with this errno.
    @discardableResult
    public static func failed(errno: Errno) -> Delivery { send("ERRNO=\(errno.rawValue)") }

    /// Sends `state` ("KEY=VALUE" lines) as one datagram to `socket`,
    /// `$NOTIFY_SOCKET` by default (a path, or "@name" for an abstract socket).
    @discardableResult
    public static func send(_ state: String, socket: String? = nil) -> Delivery {
        guard let path = socket ?? Environment.value("NOTIFY_SOCKET"), !path.isEmpty else { return .noSupervisor }
        guard let address = NotifyAddress(path) else { return .failed(SystemError("sendto", path: path, errno: .invalid)) }
        do {
            try DatagramSocket.send(state.platformBytes, to: address)
            return .sent
        } catch let error as SystemError {
            return .failed(error.at(path))
        } catch {
            return .failed(SystemError("sendto", path: path, errno: .invalid))
        }
    }
}
