internal import Glibc

/// Arguments, environment values and paths are bytes to the kernel, UTF-8 or
/// not, and a command must get exactly the bytes it was given. swiftd holds
/// them in a `String` all the same, so that every piece of code that splits,
/// joins or compares them stays as it is: a byte that is not part of valid
/// UTF-8 is held as one private-use scalar, U+10FF00 plus the byte
/// (U+10FF80...U+10FFFF), the way Python's `surrogateescape` holds it as a
/// lone surrogate (which a Swift string cannot hold). The bytes of a genuine
/// U+10FF80...U+10FFFF are held each as its own such scalar, so that no two
/// byte strings are held alike.
///
/// Bytes come in through `String(platformBytes:)` and `String(platformString:)`
/// (argv, environ, files, directory entries, `readlink`, `getcwd`) and go out
/// through `platformBytes` and `withPlatformString` (every path, argument and
/// environment entry handed to C, `NAME.state`). `Escaped` shows such a byte
/// to a person as `\xNN`, JSON as `\udcNN` (Python's `surrogateescape` reads
/// that back).
extension String {
    /// The first scalar standing for a byte: U+10FF00 + byte, for bytes 0x80...0xFF.
    static let byteScalarBase: UInt32 = 0x10FF00

    /// The string that holds `bytes` exactly: valid UTF-8 as its scalars,
    /// every other byte as its stand-in scalar.
    package init<Bytes: Collection<UInt8>>(platformBytes bytes: Bytes) {
        if let made = bytes.withContiguousStorageIfAvailable({ String(platformBuffer: $0) }) {
            self = made
        } else {
            self = Array(bytes).withUnsafeBufferPointer { String(platformBuffer: $0) }
        }
    }

    /// The string that holds the NUL-terminated `pointer` exactly (a C string
    /// from argv, environ, `getcwd`...).
    package init(platformString pointer: UnsafePointer<CChar>) {
        self = pointer.withMemoryRebound(to: UInt8.self, capacity: 1) { bytes in
            String(platformBuffer: UnsafeBufferPointer(start: bytes, count: strlen(pointer)))
        }
    }

    private init(platformBuffer bytes: UnsafeBufferPointer<UInt8>) {
        // ASCII (nearly every argument, path and value) is taken at once,
        // seen eight bytes at a time. Other valid UTF-8 without a 0xF4 (which
        // begins every stand-in scalar) is decoded as the standard library
        // decodes (specialized for bytes, unlike its generic
        // `String(validating:)`), and kept when nothing was repaired.
        guard let base = bytes.baseAddress, !bytes.isEmpty else { self = ""; return }
        var high: UInt64 = 0
        var i = 0
        while i + 8 <= bytes.count {
            high |= UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            i += 8
        }
        while i < bytes.count {
            high |= UInt64(base[i])
            i += 1
        }
        if high & 0x8080_8080_8080_8080 == 0 { self = String(decoding: bytes, as: UTF8.self); return }
        if memchr(base, 0xF4, bytes.count) == nil {
            var text = String(decoding: bytes, as: UTF8.self)
            if text.withUTF8({ $0.count == bytes.count && memcmp($0.baseAddress!, base, bytes.count) == 0 }) {
                self = text
                return
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 8)
        i = 0
        while i < bytes.count {
            let length = String.validSequenceLength(bytes, at: i)
            if length > 0 {
                out.append(contentsOf: bytes[i..<(i + length)])
                i += length
            } else {
                // U+10FF00 + byte: F4 8F (BC | byte >> 6) (0x80 | byte & 0x3F).
                let b = bytes[i]
                out.append(contentsOf: [0xF4, 0x8F, 0xBC | (b >> 6), 0x80 | (b & 0x3F)])
                i += 1
            }
        }
        self = String(decoding: out, as: UTF8.self)
    }

    /// The length of the well-formed UTF-8 sequence at `i` (Unicode's table
    /// 3-7), 0 when there is none or when it is one of the stand-in scalars.
    private static func validSequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        let lead = bytes[i]
        func continuation(_ offset: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
            i + offset < bytes.count && range.contains(bytes[i + offset])
        }
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: return continuation(1) ? 2 : 0
        case 0xE0: return continuation(1, 0xA0...0xBF) && continuation(2) ? 3 : 0
        case 0xED: return continuation(1, 0x80...0x9F) && continuation(2) ? 3 : 0
        case 0xE1...0xEF: return continuation(1) && continuation(2) ? 3 : 0
        case 0xF0: return continuation(1, 0x90...0xBF) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3: return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4:
            guard continuation(1, 0x80...0x8F) && continuation(2) && continuation(3) else { return 0 }
            // F4 8F BE xx and F4 8F BF xx are the stand-ins themselves.
            return bytes[i + 1] == 0x8F && bytes[i + 2] >= 0xBE ? 0 : 4
        default: return 0
        }
    }

    /// The byte a scalar stands for, nil for any other scalar.
    static func standInByte(_ scalar: Unicode.Scalar) -> UInt8? {
        scalar.value >= byteScalarBase + 0x80 ? UInt8(truncatingIfNeeded: scalar.value) : nil
    }

    /// True when the text holds a byte that is not UTF-8 (one of the
    /// stand-in scalars, whose UTF-8 begins with 0xF4: rare in any text).
    package var holdsRawBytes: Bool {
        var text = self
        return text.withUTF8 { utf8 in
            guard let base = utf8.baseAddress, memchr(base, 0xF4, utf8.count) != nil else { return false }
            return unicodeScalars.contains { String.standInByte($0) != nil }
        }
    }

    /// The bytes the text holds: each stand-in scalar as its byte, the rest as UTF-8.
    package var platformBytes: [UInt8] {
        guard holdsRawBytes else { return Array(utf8) }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        for scalar in unicodeScalars {
            if let byte = String.standInByte(scalar) { out.append(byte) } else { out.append(contentsOf: UTF8.encode(scalar)!) }
        }
        return out
    }

    /// Calls `body` with the bytes the text holds as a NUL-terminated C
    /// string, for a C call that takes a path, an argument or an entry.
    package func withPlatformString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        guard holdsRawBytes else { return try withCString(body) }
        var bytes = platformBytes
        bytes.append(0)
        return try bytes.withUnsafeBufferPointer { buffer in
            try buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { try body($0) }
        }
    }

    /// A copy of the bytes the text holds as a C string, from `malloc` (the caller frees it).
    package var platformStringCopy: UnsafeMutablePointer<CChar> {
        withPlatformString { strdup($0)! }
    }
}
