/// Reads the fields of one mapping node the way Kong's schema validator does: type checks with
/// Kong's messages, `required field missing`, and `unknown field` for whatever nobody read.
///
/// Absent and explicit-null fields both come back as nil from the typed readers; `isNull` tells
/// them apart where Kong does (a required field given `~` is missing; an optional one is unset).
public struct Record {
    public let node: ConfigNode
    public let path: FieldPath
    public let diagnostics: Diagnostics
    private let entries: [ConfigNode.Entry]
    /// Which entries a reader took: a bit per entry while there are at most 64 (every Kong entity),
    /// an array beyond (no allocation for the common case).
    private var usedBits: UInt64 = 0
    private var usedOverflow: [Bool]

    /// Returns nil, after reporting `expected a record`, when `node` is not a mapping.
    public init?(_ node: ConfigNode, path: FieldPath, diagnostics: Diagnostics, expected: String = "expected a record")
    {
        guard let entries = node.mapping else {
            diagnostics.add(expected, node: node, path: path.text)
            return nil
        }
        self.node = node
        self.path = path
        self.diagnostics = diagnostics
        self.entries = entries
        self.usedOverflow = entries.count > 64 ? Array(repeating: false, count: entries.count) : []
    }

    public var location: SourceLocation { self.node.location }

    /// The raw node of `key`, marking it as read; nil when absent.
    public mutating func take(_ key: String) -> ConfigNode? {
        guard let i = self.index(of: key) else { return nil }
        self.markUsed(i)
        return self.entries[i].value
    }

    /// True when `key` is present, without marking it read.
    public func has(_ key: String) -> Bool {
        self.index(of: key) != nil
    }

    private func index(of key: String) -> Int? {
        for i in self.entries.indices {
            if case .string(let name) = self.entries[i].key.value {
                if name == key { return i }
            } else if self.entries[i].name == key {
                return i
            }
        }
        return nil
    }

    private mutating func markUsed(_ i: Int) {
        if self.usedOverflow.isEmpty {
            self.usedBits |= 1 << UInt64(i)
        } else {
            self.usedOverflow[i] = true
        }
    }

    private func isUsed(_ i: Int) -> Bool {
        self.usedOverflow.isEmpty ? self.usedBits & (1 << UInt64(i)) != 0 : self.usedOverflow[i]
    }

    /// True when `key` is present and explicitly null.
    public func isNull(_ key: String) -> Bool {
        guard let i = self.index(of: key) else { return false }
        return self.entries[i].value.isNull
    }

    public func fieldPath(_ key: String) -> FieldPath { self.path.appending(key) }

    public func error(_ message: String, key: String, node: ConfigNode? = nil) {
        // Point at the field's value when it is written, else at the entity.
        let place = node?.location ?? self.node[key]?.location ?? self.location
        self.diagnostics.add(message, at: place, path: self.fieldPath(key).text)
    }

    /// An error about the whole entity, placed at its first line.
    public func entityError(_ message: String) {
        self.diagnostics.add(message, at: self.location, path: self.path.text)
    }

    /// A non-null node for `key`; reports `required field missing` when `required` and absent or null.
    public mutating func value(_ key: String, required: Bool = false) -> ConfigNode? {
        guard let node = self.take(key) else {
            if required { self.error("required field missing", key: key) }
            return nil
        }
        if node.isNull {
            if required { self.error("required field missing", key: key, node: node) }
            return nil
        }
        return node
    }

    public mutating func string(_ key: String, required: Bool = false, allowEmpty: Bool = false) -> String? {
        guard let node = self.value(key, required: required) else { return nil }
        return Self.string(node, path: self.fieldPath(key), diagnostics: self.diagnostics, allowEmpty: allowEmpty)
    }

    public mutating func bool(_ key: String, required: Bool = false) -> Bool? {
        guard let node = self.value(key, required: required) else { return nil }
        guard let b = node.bool else {
            self.error("expected a boolean", key: key, node: node)
            return nil
        }
        return b
    }

    public mutating func integer(_ key: String, required: Bool = false, in range: ClosedRange<Int64>? = nil) -> Int? {
        guard let node = self.value(key, required: required) else { return nil }
        return Self.integer(node, path: self.fieldPath(key), diagnostics: self.diagnostics, in: range)
    }

    public mutating func number(_ key: String, required: Bool = false) -> Double? {
        guard let node = self.value(key, required: required) else { return nil }
        guard let d = node.number else {
            self.error("expected a number", key: key, node: node)
            return nil
        }
        return d
    }

    /// A string restricted to `choices`; reports `expected one of: a, b, c`.
    public mutating func oneOf(_ key: String, _ choices: [String], required: Bool = false) -> String? {
        guard let node = self.value(key, required: required) else { return nil }
        guard let s = Self.string(node, path: self.fieldPath(key), diagnostics: self.diagnostics) else { return nil }
        guard choices.contains(s) else {
            self.error("expected one of: " + choices.joined(separator: ", "), key: key, node: node)
            return nil
        }
        return s
    }

    /// An array of strings each one of `choices` (Kong's `elements = { one_of = … }`); an element
    /// that is not is reported and dropped.
    public mutating func oneOfArray(_ key: String, _ choices: [String]) -> [String]? {
        let diagnostics = self.diagnostics
        return self.array(key) { element, path -> String? in
            guard let s = Self.string(element, path: path, diagnostics: diagnostics) else { return nil }
            guard choices.contains(s) else {
                diagnostics.add("expected one of: " + choices.joined(separator: ", "), node: element, path: path.text)
                return nil
            }
            return s
        }
    }

    /// An array whose elements are read by `element`; invalid elements are dropped after reporting.
    public mutating func array<T>(
        _ key: String,
        required: Bool = false,
        expected: String = "expected an array",
        element: (ConfigNode, FieldPath) -> T?
    ) -> [T]? {
        guard let node = self.value(key, required: required) else { return nil }
        return Self.array(
            node,
            path: self.fieldPath(key),
            diagnostics: self.diagnostics,
            expected: expected,
            element: element
        )
    }

    public mutating func stringArray(
        _ key: String,
        required: Bool = false,
        expected: String = "expected an array"
    ) -> [String]? {
        let diagnostics = self.diagnostics
        return self.array(key, required: required, expected: expected) { node, path in
            Record.string(node, path: path, diagnostics: diagnostics)
        }
    }

    /// Reports `unknown field` for every key that no reader took. Kong's `_comment`/`_ignore`
    /// extras are allowed in entity records when `allowExtras` is set.
    public func finish(allowExtras: Bool = false) {
        for (i, entry) in self.entries.enumerated() where !self.isUsed(i) {
            let name = entry.name
            if allowExtras && (name == "_comment" || name == "_ignore") { continue }
            if entry.key.scalarText == nil {
                self.diagnostics.add("unknown field", node: entry.key, path: self.path.text)
                continue
            }
            self.diagnostics.add("unknown field", node: entry.key, path: self.fieldPath(Self.printable(name)).text)
        }
    }

    /// Marks `_comment` and `_ignore` as read after checking their types (string, array).
    public mutating func extras() {
        if let c = self.take("_comment"), !c.isNull, c.string == nil {
            self.error("expected a string", key: "_comment", node: c)
        }
        if let i = self.take("_ignore"), !i.isNull, i.sequence == nil {
            self.error("expected an array", key: "_ignore", node: i)
        }
    }

    // MARK: - Node readers shared with array elements and plugin configs

    /// `path` is only evaluated when there is an error to report (paths are strings; building
    /// one per field would dominate decoding large files).
    public static func string(
        _ node: ConfigNode,
        path: @autoclosure () -> FieldPath,
        diagnostics: Diagnostics,
        allowEmpty: Bool = false
    ) -> String? {
        guard let s = node.string else {
            diagnostics.add("expected a string", node: node, path: path().text)
            return nil
        }
        if !allowEmpty && s.isEmpty {
            diagnostics.add("length must be at least 1", node: node, path: path().text)
            return nil
        }
        return s
    }

    public static func integer(
        _ node: ConfigNode,
        path: @autoclosure () -> FieldPath,
        diagnostics: Diagnostics,
        in range: ClosedRange<Int64>? = nil
    ) -> Int? {
        guard let i = node.integer else {
            diagnostics.add("expected an integer", node: node, path: path().text)
            return nil
        }
        if let range, !range.contains(i) {
            diagnostics.add(
                "value should be between \(range.lowerBound) and \(range.upperBound)",
                node: node,
                path: path().text
            )
            return nil
        }
        return Int(i)
    }

    public static func array<T>(
        _ node: ConfigNode,
        path: FieldPath,
        diagnostics: Diagnostics,
        expected: String = "expected an array",
        element: (ConfigNode, FieldPath) -> T?
    ) -> [T]? {
        guard let items = node.sequence else {
            // Kong reads an empty map `{}` as an empty array: Lua cannot tell them apart.
            if let m = node.mapping, m.isEmpty { return [] }
            diagnostics.add(expected, node: node, path: path.text)
            return nil
        }
        var out: [T] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            if let v = element(item, path.index(i)) { out.append(v) }
        }
        return out
    }

    /// Keys are shown in paths as written, cut short so a hostile key cannot flood the output.
    public static func printable(_ text: String, limit: Int = 64) -> String {
        if text.count <= limit { return text }
        return String(text.prefix(limit)) + "…"
    }
}
