/// A parsed config value that remembers where it came from.
///
/// The YAML front end builds this tree with scalars already typed the way Kong's loader types them
/// (YAML 1.1 rules for plain scalars, quoted scalars are strings). Decoders read it and report
/// errors at `location`.
public struct ConfigNode: Sendable {
    public enum Value: Sendable {
        case null
        case bool(Bool)
        case integer(Int64)
        case float(Double)
        case string(String)
        case sequence([ConfigNode])
        case mapping([Entry])
    }

    /// One `key: value` pair of a mapping, in file order. Keys are kept as written (YAML allows
    /// non-string keys; decoders reject what Kong would).
    public struct Entry: Sendable {
        public var key: ConfigNode
        public var value: ConfigNode

        public init(key: ConfigNode, value: ConfigNode) {
            self.key = key
            self.value = value
        }

        /// The key's text as a field name: strings as they are, other scalars as written.
        public var name: String { self.key.scalarText ?? "" }
    }

    public var value: Value
    public var location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }
}

extension ConfigNode {
    public var isNull: Bool {
        if case .null = self.value { return true }
        return false
    }

    public var string: String? {
        if case .string(let s) = self.value { return s }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let b) = self.value { return b }
        return nil
    }

    public var sequence: [ConfigNode]? {
        if case .sequence(let s) = self.value { return s }
        return nil
    }

    public var mapping: [Entry]? {
        if case .mapping(let m) = self.value { return m }
        return nil
    }

    /// An integer, also from a float with no fractional part (`80.0`), as Lua numbers behave in Kong.
    public var integer: Int64? {
        switch self.value {
        case .integer(let i): return i
        case .float(let d):
            guard d.isFinite, d.rounded() == d, d >= -9.2e18, d <= 9.2e18 else { return nil }
            return Int64(d)
        default: return nil
        }
    }

    /// Any number as a `Double`.
    public var number: Double? {
        switch self.value {
        case .integer(let i): return Double(i)
        case .float(let d): return d
        default: return nil
        }
    }

    /// The value of a mapping entry by key; nil when absent (an explicit null is a node).
    public subscript(key: String) -> ConfigNode? {
        guard case .mapping(let entries) = self.value else { return nil }
        for entry in entries where entry.name == key { return entry.value }
        return nil
    }

    /// Text of a scalar for use as a key or in a message: strings as they are, numbers and
    /// booleans in their canonical spelling, nil for null and collections.
    public var scalarText: String? {
        switch self.value {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .float(let d): return Self.formatNumber(d)
        case .null, .sequence, .mapping: return nil
        }
    }

    /// Lua-like number formatting for messages: integers without a fraction.
    public static func formatNumber(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d.rounded() == d, abs(d) < 1e15 { return String(Int64(d)) }
        return String(d)
    }

    /// A short, printable description of the node's type, for "expected ..., got ..." style hints.
    public var kindName: String {
        switch self.value {
        case .null: return "null"
        case .bool: return "boolean"
        case .integer, .float: return "number"
        case .string: return "string"
        case .sequence: return "array"
        case .mapping: return "map"
        }
    }
}
