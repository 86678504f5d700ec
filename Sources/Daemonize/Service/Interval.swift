internal import Glibc

/// A duration as people write it: "250ms", "10s", "5m", "1h", "2d"; a bare
/// number is seconds ("1.5" is 1500ms).
public struct Interval: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The length in nanoseconds (never negative).
    public var nanoseconds: Int64

    /// `nanoseconds` long (a negative length is zero).
    public init(nanoseconds: Int64) { self.nanoseconds = max(0, nanoseconds) }
    /// `duration`, to the nanosecond (negative: zero; longer than Int64 nanoseconds: the longest).
    public init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        self.init(nanoseconds: overflow ? (seconds < 0 ? 0 : Int64.max) : whole.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue)
    }
    /// `n` milliseconds.
    public static func milliseconds(_ n: Int64) -> Interval { Interval(nanoseconds: n * 1_000_000) }
    /// `n` seconds.
    public static func seconds(_ n: Int64) -> Interval { Interval(nanoseconds: n * 1_000_000_000) }
    /// No time at all.
    public static let zero = Interval(nanoseconds: 0)
    /// The same length as a `Duration`.
    public var duration: Duration { .nanoseconds(nanoseconds) }

    /// Whole milliseconds, rounded up.
    public var milliseconds: Int64 { (nanoseconds + 999_999) / 1_000_000 }
    /// Seconds as a floating-point number.
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    /// The longest interval accepted: about 100 years.
    static let maximum: Int64 = 100 * 365 * 86_400 * 1_000_000_000

    /// Parses "250ms", "10s", "5m", "1h", "2d", "1.5s" or a bare number of
    /// seconds; nil for anything else (negative, empty, unknown unit, too long).
    public init?(parsing text: String) {
        let bytes = Array(text.utf8)
        var i = 0
        var whole: Int64 = 0
        var fraction: Int64 = 0
        var fractionScale: Int64 = 1
        var digits = 0
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
            // Checked before the digit is added, so that `whole` cannot overflow.
            guard whole <= Interval.maximum / 10 else { return nil }
            whole = whole * 10 + Int64(bytes[i] - 48)
            i += 1
            digits += 1
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
                if fractionScale < 1_000_000_000 {
                    fraction = fraction * 10 + Int64(bytes[i] - 48)
                    fractionScale *= 10
                }
                i += 1
                digits += 1
            }
        }
        guard digits > 0 else { return nil }
        let unit = String(decoding: bytes[i...], as: UTF8.self)
        let perUnit: Int64
        switch unit {
        case "ns": perUnit = 1
        case "us": perUnit = 1_000
        case "ms": perUnit = 1_000_000
        case "", "s": perUnit = 1_000_000_000
        case "m", "min": perUnit = 60_000_000_000
        case "h": perUnit = 3_600_000_000_000
        case "d": perUnit = 86_400_000_000_000
        default: return nil
        }
        guard whole <= Interval.maximum / perUnit else { return nil }
        // fraction * perUnit can pass Int64.max ("0.999999999d"); the quotient,
        // less than perUnit, cannot. Neither can the sum, whole * perUnit
        // being at most the maximum.
        let share = fractionScale.dividingFullWidth(fraction.multipliedFullWidth(by: perUnit)).quotient
        let total = whole * perUnit + share
        guard total <= Interval.maximum else { return nil }
        self.init(nanoseconds: total)
    }

    /// Shorter than.
    public static func < (a: Interval, b: Interval) -> Bool { a.nanoseconds < b.nanoseconds }

    /// An exact form in the largest unit that divides it: "250ms", "10s",
    /// "90s", "5m", "1500us". One number and one unit, never "1m30s": state
    /// files record durations this way and `init(parsing:)` reads them back.
    public var description: String {
        let n = nanoseconds
        if n == 0 { return "0" }
        let units: [(Int64, String)] = [(86_400_000_000_000, "d"), (3_600_000_000_000, "h"), (60_000_000_000, "m"),
                                         (1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us")]
        for (size, name) in units where n % size == 0 {
            return "\(n / size)\(name)"
        }
        return "\(n)ns"
    }

    /// A rounded form for people: "450ms", "12s", "3m12s", "2h5m", "1d3h".
    package var approximate: String {
        let s = nanoseconds / 1_000_000_000
        if s < 1 { return "\(nanoseconds / 1_000_000)ms" }
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(s % 60)s" }
        if s < 86400 { return "\(s / 3600)h\((s % 3600) / 60)m" }
        return "\(s / 86400)d\((s % 86400) / 3600)h"
    }
}

/// A size in bytes as people write it: "512K", "10M", "1G" (powers of 1024),
/// or a bare number of bytes.
public struct ByteSize: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The size in bytes (never negative).
    public var bytes: Int64

    /// `bytes` bytes (a negative size is zero).
    public init(bytes: Int64) { self.bytes = max(0, bytes) }

    /// Parses "512K", "10M", "1G", "2T" (also "10MB", "10MiB", lower case) or bytes.
    public init?(parsing text: String) {
        var body = text.uppercased()
        if body.hasSuffix("IB") { body.removeLast(2) } else if body.hasSuffix("B") && body.count > 1 { body.removeLast() }
        var multiplier: Int64 = 1
        switch body.last {
        case "K": multiplier = 1 << 10
        case "M": multiplier = 1 << 20
        case "G": multiplier = 1 << 30
        case "T": multiplier = 1 << 40
        default: break
        }
        if multiplier > 1 { body.removeLast() }
        guard !body.isEmpty, body.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), body.utf8.count <= 15, let n = Int64(body) else { return nil }
        let (product, overflow) = n.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        self.init(bytes: product)
    }

    /// Smaller than.
    public static func < (a: ByteSize, b: ByteSize) -> Bool { a.bytes < b.bytes }

    /// "10M", "512K", or bytes when not a whole multiple.
    public var description: String {
        for (size, name) in [(Int64(1) << 40, "T"), (1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")] where bytes >= size && bytes % size == 0 {
            return "\(bytes / size)\(name)"
        }
        return "\(bytes)"
    }
}
