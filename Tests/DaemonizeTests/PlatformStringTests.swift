import Glibc
@testable import Daemonize
import Testing

/// Bytes held in a String (`String(platformBytes:)`): every byte string comes
/// back exactly, valid UTF-8 stays the text it is, and what is written and
/// shown of them.
@Suite(.hangLimit) struct PlatformStringTests {
    @Test func everyByteStringOfUpToTwoBytesAndSomeLongerOnesComeBackExactly() {
        var strings: [[UInt8]] = [[], Array(1...255), Array((1...255).reversed())]
        for a in 0...255 { for b in 0...255 { strings.append([UInt8(a), UInt8(b)]) } }
        // Every scalar that stands for a byte, as genuine UTF-8, alone and among bytes.
        for byte in 0x80...0xFF { strings.append([0xF4, 0x8F, 0xBC | UInt8(byte >> 6), 0x80 | UInt8(byte & 0x3F)]) }
        strings.append([0x41, 0xF4, 0x8F, 0xBF, 0xA9, 0xE9, 0xF4, 0x8F, 0xBF, 0xF4, 0x90, 0x80, 0x80, 0xED, 0xA0, 0x80, 0xC0, 0xAF, 0xE0, 0x80, 0xAF])
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 { strings.append((0..<Int.random(in: 1...12, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }) }
        for bytes in strings {
            let text = String(platformBytes: bytes)
            #expect(text.platformBytes == bytes, "\(bytes)")
            #expect(text.withPlatformString { Array(UnsafeRawBufferPointer(start: $0, count: strlen($0))) } == Array(bytes.prefix { $0 != 0 }))
            // Two byte strings are never held alike.
            #expect(String(platformBytes: text.platformBytes).unicodeScalars.elementsEqual(text.unicodeScalars))
        }
    }

    @Test func validTextIsHeldAsItIs() {
        for text in ["", "plain", "caf\u{E9}", "e\u{301}", "\u{1F600} \u{10FF7F}", "\r\n\u{0}x"] {
            let held = String(platformBytes: Array(text.utf8))
            #expect(held.unicodeScalars.elementsEqual(text.unicodeScalars) && !held.holdsRawBytes, "\(text)")
        }
        let latin1 = String(platformBytes: [0x63, 0x61, 0x66, 0xE9])
        #expect(latin1.holdsRawBytes && latin1.unicodeScalars.count == 4)
        #expect(Escaped.message("open \(latin1): No such file") == "open caf\\xe9: No such file")
        #expect(Escaped.line(latin1 + "\u{1B}") == "caf\\xe9\\x1b")
        #expect(JSON.string(latin1).description == "\"caf\\udce9\"")
        // A log holding the UTF-8 of a stand-in scalar shows those bytes, not the byte it stands for.
        #expect(Escaped.log([0xF4, 0x8F, 0xBF, 0xA9, 0xE9]).text == Array("\\xf4\\x8f\\xbf\\xa9\\xe9".utf8))
    }

    @Test func theEnvironmentAndArgumentsAreReadAsTheirBytes() throws {
        let value = String(platformBytes: [0xFF, 0x3D, 0xC3, 0x0A])
        Environment.set("SWIFTD_PLATFORM_STRING_TEST", to: value)
        defer { Environment.set("SWIFTD_PLATFORM_STRING_TEST", to: nil) }
        #expect(Environment.value("SWIFTD_PLATFORM_STRING_TEST")?.platformBytes == [0xFF, 0x3D, 0xC3, 0x0A])
        #expect(Environment.current().contains { $0.platformBytes == Array("SWIFTD_PLATFORM_STRING_TEST=".utf8) + [0xFF, 0x3D, 0xC3, 0x0A] })
        #expect(CurrentProcess.arguments.count == Int(CommandLine.argc))
    }
}
