internal import Glibc

/// Text handling by Unicode scalar, as sh and the kernel see bytes: by
/// `Character`, a combining mark after a blank or an "=" would fuse with it
/// and the blank or "=" would not be found.
extension String {
    /// The string without leading and trailing spaces, tabs, CR and LF.
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }), let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(scalars[first...last])
    }

    /// True when the text begins with `scalar` (a combining mark after it
    /// does not hide it, as it would from `hasPrefix`).
    func begins(with scalar: Unicode.Scalar) -> Bool { unicodeScalars.first == scalar }

    /// True when the text begins with the scalars of `prefix` ("NAME=" in
    /// "NAME=VALUE": a value that starts with a combining mark does not hide
    /// the "=", as it would from `hasPrefix`).
    func hasScalarPrefix(_ prefix: String) -> Bool { unicodeScalars.starts(with: prefix.unicodeScalars) }

    /// True when the text holds `scalar` anywhere.
    func contains(scalar: Unicode.Scalar) -> Bool { unicodeScalars.contains(scalar) }

    /// A path the kernel takes as absolute: it begins with "/".
    var isAbsolutePath: Bool { begins(with: "/") }

    /// The parts between `separator`s, each as a String.
    func split(scalar separator: Unicode.Scalar, omittingEmpty: Bool = true) -> [String] {
        unicodeScalars.split(separator: separator, omittingEmptySubsequences: omittingEmpty).map { String(String.UnicodeScalarView($0)) }
    }

    /// The text before and after the first `separator`, or nil without one.
    func splitAtFirst(_ separator: Unicode.Scalar) -> (before: String, after: String)? {
        let scalars = unicodeScalars
        guard let index = scalars.firstIndex(of: separator) else { return nil }
        return (String(scalars[..<index]), String(scalars[scalars.index(after: index)...]))
    }
}
