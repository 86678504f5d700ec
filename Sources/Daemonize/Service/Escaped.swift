internal import Glibc

/// Text a service sent, made safe to show a person: control characters (C0,
/// DEL, C1) and bytes that are not UTF-8 become visible escapes (`\x1b`,
/// `\u{9b}`, `\xe9`), so that nothing a service prints or sends (a STATUS=
/// text, a log line, an exit reason) can move a cursor, retitle a terminal or
/// hide what follows it.
package enum Escaped {
    /// A message for a person (`Standard`): every byte that is not UTF-8
    /// (an argument, a path: `String(platformBytes:)`) as `\xNN`, the rest
    /// as it is, line breaks included.
    package static func message(_ text: String) -> String {
        guard text.holdsRawBytes else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if let byte = String.standInByte(scalar) { out.append(contentsOf: hex(byte).unicodeScalars) } else { out.append(scalar) }
        }
        return String(out)
    }

    /// One line: every control character escaped, line breaks included.
    package static func line(_ text: String) -> String {
        // Most text holds nothing to escape: returned as is, after one pass
        // over its bytes (a C1 control, U+0080...U+009F, is 0xC2 0x80...0x9F
        // in UTF-8, a Swift string is always valid UTF-8, and the scalar
        // that stands for a byte that is not begins with 0xF4).
        if !(text.utf8.withContiguousStorageIfAvailable(needsEscape) ?? needsEscape(Array(text.utf8))) { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if let escape = escape(scalar) {
                out.append(contentsOf: escape.unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Bytes of a log, for `logs`: line breaks and tabs kept, everything
    /// else that is a control character or not UTF-8 escaped. An incomplete
    /// UTF-8 sequence at the very end is returned as `rest`, for the caller
    /// to put in front of the next chunk (`logs -f` reads in pieces).
    package static func log(_ bytes: [UInt8], final: Bool = true) -> (text: [UInt8], rest: [UInt8]) {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b < 0x80 {
                if b == 10 || b == 9 || (b >= 0x20 && b != 0x7f) {
                    out.append(b)
                } else {
                    out += Array(hex(b).utf8)
                }
                i += 1
                continue
            }
            let length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1
            if length > 1 && i + length > bytes.count && !final && bytes[i...].dropFirst().allSatisfy({ $0 & 0xc0 == 0x80 }) {
                return (out, Array(bytes[i...]))
            }
            var decoder = UTF8()
            var iterator = bytes[i..<min(bytes.count, i + length)].makeIterator()
            if length > 1, i + length <= bytes.count, case .scalarValue(let scalar) = decoder.decode(&iterator) {
                if String.standInByte(scalar) != nil {
                    // The bytes of a scalar that stands for a byte elsewhere: each one shown.
                    for byte in bytes[i..<(i + length)] { out += Array(hex(byte).utf8) }
                } else if let escape = escape(scalar) {
                    out += Array(escape.utf8)
                } else {
                    out += bytes[i..<(i + length)]
                }
                i += length
            } else {
                out += Array(hex(b).utf8)
                i += 1
            }
        }
        return (out, [])
    }

    private static func needsEscape<Bytes: Sequence<UInt8>>(_ utf8: Bytes) -> Bool {
        var afterC2 = false
        for byte in utf8 {
            if byte < 0x20 { return true }
            // An ASCII byte never follows 0xC2 in valid UTF-8: afterC2 is false there.
            if byte >= 0x7f {
                if byte == 0x7f || byte == 0xf4 || (afterC2 && byte < 0xa0) { return true }
                afterC2 = byte == 0xc2
            }
        }
        return false
    }

    private static func escape(_ scalar: Unicode.Scalar) -> String? {
        if let byte = String.standInByte(scalar) { return hex(byte) }
        switch scalar.value {
        case 0..<0x20, 0x7f: return hex(UInt8(scalar.value))
        case 0x80...0x9f: return "\\u{" + String(scalar.value, radix: 16) + "}"
        default: return nil
        }
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16)
        return "\\x" + (digits.count < 2 ? "0" : "") + digits
    }
}
