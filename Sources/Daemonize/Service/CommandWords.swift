internal import Glibc

/// Splits a command line into words the way a shell would quote, without any
/// expansion: single quotes, double quotes (with \" \\ \$ \` escapes) and
/// backslash escapes; and quotes words back for display and files.
package enum CommandWords {
    /// What is wrong with a command line.
    package enum SplitError: Error, Hashable, Sendable, CustomStringConvertible {
        case unterminatedQuote(Character)
        case trailingBackslash

        package var description: String {
            switch self {
            case .unterminatedQuote(let q): return "unterminated \(q) quote"
            case .trailingBackslash: return "backslash at the end"
            }
        }
    }

    /// The words of `line`.
    ///
    /// Read scalar by scalar, as sh reads bytes, not by `Character`: a
    /// combining mark after a quote or a blank would otherwise fuse with it
    /// into one `Character` that is neither, and the quote or blank would be
    /// lost ("'\u{301}'" would not be a quoted word).
    package static func split(_ line: String) throws -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        var inWord = false
        var iterator = line.unicodeScalars.makeIterator()
        while let c = iterator.next() {
            switch c {
            case " ", "\t", "\n", "\r":
                if inWord { words.append(String(current)); current = String.UnicodeScalarView(); inWord = false }
            case "'":
                inWord = true
                var closed = false
                while let d = iterator.next() {
                    if d == "'" { closed = true; break }
                    current.append(d)
                }
                if !closed { throw SplitError.unterminatedQuote("'") }
            case "\"":
                inWord = true
                var closed = false
                while let d = iterator.next() {
                    if d == "\"" { closed = true; break }
                    if d == "\\" {
                        guard let e = iterator.next() else { throw SplitError.unterminatedQuote("\"") }
                        if e == "\"" || e == "\\" || e == "$" || e == "`" { current.append(e) } else if e != "\n" { current.append("\\"); current.append(e) }
                        continue
                    }
                    current.append(d)
                }
                if !closed { throw SplitError.unterminatedQuote("\"") }
            case "\\":
                guard let e = iterator.next() else { throw SplitError.trailingBackslash }
                if e != "\n" { current.append(e); inWord = true }
            default:
                current.append(c)
                inWord = true
            }
        }
        if inWord { words.append(String(current)) }
        return words
    }

    /// `line` up to a comment: a `#` that begins a word outside quotes, as
    /// in sh (`a#b` and `"#"` are not comments). Trailing blanks are dropped.
    /// An unterminated quote leaves the line whole, for `split` to reject.
    /// Scalar by scalar, like `split`.
    package static func uncommented(_ line: String) -> String {
        var quote: Unicode.Scalar?
        var escaped = false
        // True after an unquoted, unescaped blank (or at the start).
        var atWordStart = true
        let scalars = line.unicodeScalars
        for index in scalars.indices {
            let c = scalars[index]
            if escaped {
                escaped = false
                if quote == nil { atWordStart = false }
                continue
            }
            if let q = quote {
                if c == q { quote = nil } else if c == "\\" && q == "\"" { escaped = true }
                continue
            }
            switch c {
            case "'", "\"": quote = c
            case "\\": escaped = true
            case "#" where atWordStart: return String(scalars[..<index]).trimmingSpaces
            default: break
            }
            atWordStart = c == " " || c == "\t"
        }
        return line
    }

    /// `words` joined so that `split` gives them back; plain words stay bare.
    package static func quote(_ words: [String]) -> String {
        words.map(quote).joined(separator: " ")
    }

    /// One word, single-quoted when it holds anything but safe characters.
    package static func quote(_ word: String) -> String {
        let safe = word.utf8.allSatisfy { b in
            (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || "-_./:=@%+,".utf8.contains(b)
        }
        if safe && !word.isEmpty { return word }
        // By scalars, like `split`: a quote followed by a combining mark is
        // still a quote to be escaped.
        var quoted = String.UnicodeScalarView()
        quoted.append("'")
        for scalar in word.unicodeScalars {
            if scalar == "'" { quoted.append(contentsOf: "'\\''".unicodeScalars) } else { quoted.append(scalar) }
        }
        quoted.append("'")
        return String(quoted)
    }
}

extension String {
    /// Every occurrence of `target` replaced by `replacement` (no Foundation here).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstOccurrence(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}

extension Substring {
    /// The first occurrence of `target`, by Character, like `_StringProcessing`'s
    /// `firstRange(of:)`, which this package does not import (see Package.swift).
    func firstOccurrence(of target: String) -> Range<Index>? {
        var start = startIndex
        while start != endIndex {
            if self[start...].starts(with: target) { return start..<index(start, offsetBy: target.count) }
            start = index(after: start)
        }
        return nil
    }
}
