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

    /// The text before and after the first `separator`, or nil without one.
    func splitAtFirst(_ separator: Unicode.Scalar) -> (before: String, after: String)? {
        let scalars = unicodeScalars
        guard let index = scalars.firstIndex(of: separator) else { return nil }
        return (String(scalars[..<index]), String(scalars[scalars.index(after: index)...]))
    }
}
