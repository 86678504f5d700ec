internal import Glibc

/// A service name: `[A-Za-z0-9][A-Za-z0-9._@-]{0,63}`, so that it can never
/// walk out of its directory.
public struct ServiceName: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The name.
    public let rawValue: String

    /// Nil for anything that does not match the pattern.
    public init?(_ text: String) {
        var count = 0
        for b in text.utf8 {
            guard ServiceName.isAlphanumeric(b) || (count > 0 && (b == UInt8(ascii: ".") || b == UInt8(ascii: "_")
                                                                  || b == UInt8(ascii: "@") || b == UInt8(ascii: "-"))) else { return nil }
            count += 1
            if count > 64 { return nil }
        }
        guard count > 0 else { return nil }
        rawValue = text
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
    }

    /// In alphabetical order (by UTF-8 bytes).
    public static func < (a: ServiceName, b: ServiceName) -> Bool { a.rawValue < b.rawValue }
    /// The name.
    public var description: String { rawValue }
}
