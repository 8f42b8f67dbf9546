public import TurnpikeModel

/// response-transformer's config (kong/plugins/response-transformer/schema.lua): for each of
/// `remove`, `rename`, `replace`, `add`, `append`, the JSON body keys and the headers, as
/// `name` or `name:value` strings split once at load; `json_types` casting the JSON values.
public struct ResponseTransformerConfig: ScopeFreePluginConfig {
    /// One `name:value` entry (value nil when empty, as Kong's `iter` gives nil).
    public struct Pair: Sendable, Equatable {
        public var name: String
        public var value: String?
        /// The entry as written, for `render`.
        public var text: String
    }

    public struct Part: Sendable, Equatable {
        public var json: [Pair] = []
        public var jsonTypes: [String] = []
        public var headers: [Pair] = []
    }

    public var remove = Part()
    public var rename = Part()
    public var replace = Part()
    public var add = Part()
    public var append = Part()

    public init() {}

    /// Whether any JSON body edit is configured (Kong's `is_body_transform_set`).
    public var editsBody: Bool {
        !(self.add.json.isEmpty && self.rename.json.isEmpty && self.remove.json.isEmpty && self.replace.json.isEmpty
            && self.append.json.isEmpty)
    }

    public func rendered() -> Rendered {
        func part(_ p: Part, types: Bool) -> Rendered {
            var fields: [(String, Rendered)] = [
                ("headers", .strings(p.headers.map(\.text))), ("json", .strings(p.json.map(\.text))),
            ]
            if types { fields.append(("json_types", .strings(p.jsonTypes))) }
            return .object(fields)
        }
        return .object([
            ("add", part(self.add, types: true)), ("append", part(self.append, types: true)),
            ("remove", part(self.remove, types: false)), ("rename", part(self.rename, types: false)),
            ("replace", part(self.replace, types: true)),
        ])
    }

    /// Kong's `^([^:]+):*(.-)$`: the name up to the first colon, any colons after it skipped.
    static func split(_ text: String) -> Pair {
        guard let colon = text.firstIndex(of: ":") else { return Pair(name: text, value: nil, text: text) }
        let value = text[colon...].drop { $0 == ":" }
        return Pair(name: String(text[..<colon]), value: value.isEmpty ? nil : String(value), text: text)
    }

    public static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    ) -> ResponseTransformerConfig? {
        var config = ResponseTransformerConfig()
        let before = diagnostics.errors.count
        guard let node else { return config }
        guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
        func part(_ key: String, colon: Bool, types: Bool, headerValues: Bool = false) -> Part? {
            guard let n = r.value(key), !n.isNull else { return nil }
            guard var p = Record(n, path: path.appending(key), diagnostics: diagnostics) else { return nil }
            var out = Part()
            func list(_ field: String, headers: Bool) -> [Pair] {
                p.array(field) { element, elementPath -> Pair? in
                    guard let text = Record.string(element, path: elementPath, diagnostics: diagnostics) else {
                        return nil
                    }
                    let pair = Self.split(text)
                    // Kong's `match = "^[^:]+:.*$"` for name:value lists.
                    if colon && (!text.contains(":") || text.hasPrefix(":")) {
                        diagnostics.add(
                            "invalid value: \(Record.printable(text))",
                            node: element,
                            path: elementPath.text
                        )
                        return nil
                    }
                    if headers, Validators.headerName(pair.name) != nil {
                        diagnostics.add(
                            "'\(Record.printable(pair.name))' is not a valid header",
                            node: element,
                            path: elementPath.text
                        )
                        return nil
                    }
                    if headers && headerValues, let value = pair.value, Validators.headerName(value) != nil {
                        diagnostics.add(
                            "'\(Record.printable(value))' is not a valid header",
                            node: element,
                            path: elementPath.text
                        )
                        return nil
                    }
                    return pair
                } ?? []
            }
            out.json = list("json", headers: false)
            // Stricter than Kong, which checks names for rename only: a name that cannot be a header
            // would make an invalid response line.
            out.headers = list("headers", headers: true)
            if types {
                out.jsonTypes = p.oneOfArray("json_types", ["boolean", "number", "string"]) ?? []
            }
            p.finish()
            return out
        }
        config.remove = part("remove", colon: false, types: false) ?? config.remove
        config.rename = part("rename", colon: true, types: false, headerValues: true) ?? config.rename
        config.replace = part("replace", colon: true, types: true) ?? config.replace
        config.add = part("add", colon: true, types: true) ?? config.add
        config.append = part("append", colon: true, types: true) ?? config.append
        r.finish()
        return diagnostics.errors.count == before ? config : nil
    }
}
