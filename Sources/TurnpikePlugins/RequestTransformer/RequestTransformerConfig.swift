public import TurnpikeModel

/// request-transformer's config (kong/plugins/request-transformer/schema.lua): for each of
/// `remove`, `rename`, `replace`, `add`, `append`, the body, headers and querystring entries
/// (`name` or `name:value`, values parsed at load as templates), `replace.uri`, `http_method`.
public struct RequestTransformerConfig: ScopeFreePluginConfig {
    public struct Entry: Sendable, Equatable {
        public var name: String
        /// Nil for a name alone (remove).
        var value: ValueTemplate?
        public var text: String
    }

    public struct Part: Sendable, Equatable {
        public var body: [Entry] = []
        public var headers: [Entry] = []
        public var querystring: [Entry] = []
    }

    public var httpMethod: String?
    public var remove = Part()
    public var rename = Part()
    public var replace = Part()
    public var add = Part()
    public var append = Part()
    public var uri: String?
    var uriTemplate: ValueTemplate?

    public init() {}

    var editsBody: Bool {
        !(self.remove.body.isEmpty && self.rename.body.isEmpty && self.replace.body.isEmpty && self.add.body.isEmpty
            && self.append.body.isEmpty)
    }

    var editsQuery: Bool {
        !(self.remove.querystring.isEmpty && self.rename.querystring.isEmpty && self.replace.querystring.isEmpty
            && self.add.querystring.isEmpty && self.append.querystring.isEmpty)
    }

    public func rendered() -> Rendered {
        func part(_ p: Part, uri: Bool = false) -> Rendered {
            var fields: [(String, Rendered)] = [
                ("body", .strings(p.body.map(\.text))), ("headers", .strings(p.headers.map(\.text))),
                ("querystring", .strings(p.querystring.map(\.text))),
            ]
            if uri { fields.append(("uri", .optional(self.uri))) }
            return .object(fields)
        }
        return .object([
            ("add", part(self.add)), ("append", part(self.append)), ("http_method", .optional(self.httpMethod)),
            ("remove", part(self.remove)), ("rename", part(self.rename)), ("replace", part(self.replace, uri: true)),
        ])
    }

    public static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    ) -> RequestTransformerConfig? {
        var config = RequestTransformerConfig()
        let before = diagnostics.errors.count
        guard let node else { return config }
        guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
        if let n = r.value("http_method"),
            let m = Record.string(n, path: r.fieldPath("http_method"), diagnostics: diagnostics)
        {
            // Kong's typedefs.http_method: upper-case letters.
            if m.isEmpty || !m.allSatisfy({ $0.isASCII && $0.isUppercase }) {
                r.error("invalid value: \(Record.printable(m))", key: "http_method", node: n)
            } else {
                config.httpMethod = m
            }
        }
        /// `kind`: what the list holds; Kong's checks differ per part and operation.
        enum Kind { case names, headerNames, values, headerValues, headerRenames }
        func part(_ key: String, body: Kind, headers: Kind, query: Kind, uri: Bool = false) -> Part {
            guard let n = r.value(key), !n.isNull,
                var p = Record(n, path: path.appending(key), diagnostics: diagnostics)
            else { return Part() }
            func list(_ field: String, _ kind: Kind) -> [Entry] {
                p.array(field) { element, elementPath -> Entry? in
                    guard let text = Record.string(element, path: elementPath, diagnostics: diagnostics) else {
                        return nil
                    }
                    func fail(_ message: String) -> Entry? {
                        diagnostics.add(message, node: element, path: elementPath.text)
                        return nil
                    }
                    // Kong's `^([^:]+):*(.-)$`.
                    let colon = text.firstIndex(of: ":")
                    let name = colon.map { String(text[..<$0]) } ?? text
                    let value = colon.map { String(text[$0...].drop { $0 == ":" }) } ?? ""
                    switch kind {
                    case .names:
                        // Kong's iter reads the name up to a colon here too.
                        return Entry(name: name, value: nil, text: text)
                    case .headerNames:
                        if Validators.headerName(name) != nil {
                            return fail("'\(Record.printable(name))' is not a valid header")
                        }
                        return Entry(name: name, value: nil, text: text)
                    case .values:
                        if value.isEmpty { return fail("key '\(Record.printable(name))' has no value") }
                    case .headerValues, .headerRenames:
                        if colon == nil || name.isEmpty { return fail("invalid value: \(Record.printable(text))") }
                        if Validators.headerName(name) != nil {
                            return fail("'\(Record.printable(name))' is not a valid header")
                        }
                        if kind == .headerRenames, Validators.headerName(value) != nil {
                            return fail("'\(Record.printable(value))' is not a valid header")
                        }
                        // `name:` has no value in Kong's iter: the entry does nothing.
                        if value.isEmpty { return Entry(name: name, value: nil, text: text) }
                    }
                    switch ValueTemplate.parse(value) {
                    case .success(let template): return Entry(name: name, value: template, text: text)
                    case .failure(let f):
                        return fail("value '\(Record.printable(value))' is not in supported format, error:\(f.message)")
                    }
                } ?? []
            }
            var out = Part()
            out.body = list("body", body)
            out.headers = list("headers", headers)
            out.querystring = list("querystring", query)
            if uri, let u = p.value("uri"),
                let text = Record.string(u, path: p.fieldPath("uri"), diagnostics: diagnostics)
            {
                switch ValueTemplate.parse(text) {
                case .success(let template):
                    config.uri = text
                    config.uriTemplate = template
                case .failure(let f):
                    diagnostics.add(
                        "value '\(Record.printable(text))' is not in supported format, error:\(f.message)",
                        node: u,
                        path: p.fieldPath("uri").text
                    )
                }
            }
            p.finish()
            return out
        }
        config.remove = part("remove", body: .names, headers: .headerNames, query: .names)
        config.rename = part("rename", body: .values, headers: .headerRenames, query: .values)
        config.replace = part("replace", body: .values, headers: .headerValues, query: .values, uri: true)
        config.add = part("add", body: .values, headers: .headerValues, query: .values)
        config.append = part("append", body: .values, headers: .headerValues, query: .values)
        r.finish()
        return diagnostics.errors.count == before ? config : nil
    }
}
