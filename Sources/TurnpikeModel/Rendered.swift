/// An output document with ordered keys: what `render`, the admin API and error bodies print.
/// Emitters turn it into JSON or YAML; nothing here knows about files or sockets.
public indirect enum Rendered: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([Rendered])
    case object([(String, Rendered)])

    public static func == (lhs: Rendered, rhs: Rendered) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// What every secret is printed as.
    public static let redacted = "<redacted>"

    public static func optional(_ s: String?) -> Rendered { s.map(Rendered.string) ?? .null }
    public static func optional(_ i: Int?) -> Rendered { i.map(Rendered.integer) ?? .null }
    public static func optional(_ b: Bool?) -> Rendered { b.map(Rendered.bool) ?? .null }
    public static func strings(_ list: [String]?) -> Rendered { list.map { .array($0.map(Rendered.string)) } ?? .null }
    public static func id(_ id: EntityID?) -> Rendered { id.map { .string($0.description) } ?? .null }
    /// Kong's foreign-key shape: `{"id": "<uuid>"}` or null.
    public static func reference(_ id: EntityID?) -> Rendered {
        id.map { .object([("id", .string($0.description))]) } ?? .null
    }

    /// Compact JSON, keys in the given order, strings escaped (RFC 8259).
    public var json: String {
        var out = ""
        self.writeJSON(into: &out)
        return out
    }

    public func writeJSON(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .number(let d): out += d.isFinite ? ConfigNode.formatNumber(d) : "null"
        case .string(let s): Self.writeJSONString(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.writeJSON(into: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, (key, value)) in fields.enumerated() {
                if i > 0 { out += "," }
                Self.writeJSONString(key, into: &out)
                out += ":"
                value.writeJSON(into: &out)
            }
            out += "}"
        }
    }

    public static func writeJSONString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
