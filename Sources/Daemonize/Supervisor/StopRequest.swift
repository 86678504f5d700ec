internal import Glibc

/// How `stop --signal S --timeout D` reaches a supervisor: as the payload of
/// a queued SIGTERM, so that one signal carries the whole request and no file
/// or socket is needed.
package enum StopRequest {
    /// The payload for a stop with these overrides; nil when there are none
    /// (a plain SIGTERM then asks for the configured stop).
    package static func encode(signal: ProcessSignal?, timeout: Interval?) -> Int64? {
        guard signal != nil || timeout != nil else { return nil }
        let sig = Int64(signal?.rawValue ?? 0) & 0xff
        let ms = timeout.map { min($0.milliseconds, Int64(1) << 50) + 1 } ?? 0
        return (ms << 8) | sig
    }

    /// The overrides a payload carries.
    package static func decode(_ value: Int64) -> (signal: ProcessSignal?, timeout: Interval?) {
        let sig = Int32(value & 0xff)
        let ms = value >> 8
        let signal = ProcessSignal(number: sig)
        return (signal, ms > 0 ? .milliseconds(ms - 1) : nil)
    }
}
