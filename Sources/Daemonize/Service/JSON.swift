internal import Glibc

/// A JSON value, written without Foundation. Only what swiftd prints.
package indirect enum JSON: Hashable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    /// Keys keep their order.
    case object([(String, JSON)])

    package static func == (a: JSON, b: JSON) -> Bool { a.description == b.description }
    package func hash(into hasher: inout Hasher) { hasher.combine(description) }

    /// Compact text.
    package var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let n): return String(n)
        case .double(let d): return d.isFinite ? formatSeconds(d) : "null"
        case .string(let s): return JSON.quote(s)
        case .array(let items): return "[" + items.map(\.description).joined(separator: ",") + "]"
        case .object(let pairs): return "{" + pairs.map { JSON.quote($0.0) + ":" + $0.1.description }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if let byte = String.standInByte(scalar) {
                    // A byte that is not UTF-8, as Python's surrogateescape
                    // writes it: json.loads then os.fsencode give it back.
                    out += "\\udc" + String(byte, radix: 16)
                } else if scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
