import TurnpikeModel

/// Kong's request-transformer (kong/plugins/request-transformer/access.lua), in Kong's order:
/// the path (`replace.uri`), the method (`http_method`; to GET, HEAD or TRACE a form body's
/// arguments join the query), the headers, the body (JSON, form or multipart, through the held
/// body: up to 8 KiB; a request without a body is edited as an empty one, as in Kong; a larger
/// body passes unedited), then the query (sorted by name, as Kong's `set_query` writes it). The
/// plugin sees the request as the plugins before it left it. Each list runs remove, rename, replace, add, append. Values are
/// templates compiled at load (`ValueTemplate`).
public struct RequestTransformerPlugin: Plugin, AccessHandler {
    public static let name = "request-transformer"
    public static let priority = 801
    public typealias Config = RequestTransformerConfig

    public let config: RequestTransformerConfig
    let movesFormToQuery: Bool
    /// `add.headers` as the upstream edits they make when none of them is present, made once:
    /// when every value is plain text, no name is Host and no name repeats (the usual use).
    let plainAdds: (names: [String], pairs: [(name: String, value: String)])?
    public var name: String { Self.name }

    public init(config: RequestTransformerConfig) {
        self.config = config
        self.movesFormToQuery = ["GET", "HEAD", "TRACE"].contains(config.httpMethod ?? "")
        let adds = config.add.headers
        let plain = adds.allSatisfy { $0.value?.isPlain ?? false && !HeaderName.equal($0.name, "host") }
        let distinct = adds.indices.allSatisfy { i in
            !adds[..<i].contains { HeaderName.lookupEqual($0.name, adds[i].name) }
        }
        if plain && distinct && !adds.isEmpty {
            let pairs = adds.map { (name: $0.name, value: $0.value?.render { _ in nil } ?? "") }
            self.plainAdds = (pairs.map(\.name), pairs)
        } else {
            self.plainAdds = nil
        }
    }

    public var needsBody: Bool { self.config.editsBody || self.movesFormToQuery }

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        // (Fields read one by one: a copy of the whole request costs a retain per field.)
        let captures = context.request.uriCaptures
        let shared = context.plugins.shared
        // The request as the plugins before this one left it (key-auth's hide_credentials, its
        // X-Consumer-* headers), as Kong's PDK reads it.
        let headers = Self.currentHeaders(context)
        let currentQuery: Substring? = context.edits.query.map { Substring($0) } ?? context.request.query
        let currentBody = context.edits.body ?? context.request.body
        // Decoded once: the templates' lookups and the querystring edits share it.
        let currentArgs = QueryString.grouped(currentQuery)
        let lookup: (ValueTemplate.Term) -> String? = { term in
            switch term {
            case .header(let name): return headers.lookup(name)
            case .query(let name):
                guard let values = currentArgs.first(where: { $0.name == name })?.values else {
                    return nil
                }
                return values.first.map { $0 ?? "true" }
            case .capture(let name):
                return captures.named[name] ?? nil
            case .captureIndex(let i):
                return captures.unnamed.indices.contains(i) ? captures.unnamed[i] : nil
            case .shared(let key): return shared[key] as? String
            case .literal(let s): return s
            }
        }
        func render(_ e: RequestTransformerConfig.Entry) -> String? { e.value.map { $0.render(lookup) } }

        if let template = self.config.uriTemplate {
            let path = template.render(lookup)
            // Kong's `set_path` raises an error for a path without a leading slash: a 500.
            guard path.hasPrefix("/") else {
                return .respond(LocalResponse(status: 500, message: "An unexpected error occurred"))
            }
            context.edits.path = path
        }
        var query = currentArgs
        var queryChanged = false
        if let method = self.config.httpMethod {
            context.edits.method = method
            if self.movesFormToQuery, Self.kind(context.upstreamHeader("content-type")) == .form,
                let body = currentBody
            {
                for (name, values) in QueryString.grouped(Substring(decoding: body, as: UTF8.self)) {
                    if let i = query.firstIndex(where: { $0.name == name }) {
                        query[i].values += values
                    } else {
                        query.append((name, values))
                    }
                    queryChanged = true
                }
            }
        }
        self.transformHeaders(&context, headers: headers, render: render)
        // A body the gateway did not read (past the held-body bound) is not edited: sending a
        // replacement while the rest still streams would let the client's bytes follow it
        // upstream. Kong reads such a body as none (its `get_raw_body` fails past nginx's buffer):
        // it skips remove, rename and replace, and add or append replaces the whole body.
        if self.config.editsBody, currentBody != nil || context.request.declaresNoBody {
            self.transformBody(&context, body: currentBody ?? [], render: render)
        }
        if self.config.editsQuery {
            _ = Self.apply(self.config, \.querystring, to: &query, render: render)
            queryChanged = true
        }
        if queryChanged { context.edits.query = Self.orderedQuery(query) }
        return .proceed
    }

    /// Kong's `set_query`: each argument encoded with its values (`name=a&name=b`), the pieces
    /// sorted as strings (so `p1=y` comes before `p=x`), joined with `&`.
    static func orderedQuery(_ args: [(name: String, values: [String?])]) -> String {
        args.map { QueryString.encodeArgs([$0]) }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            .joined(separator: "&")
    }

    // MARK: headers

    /// The request's headers with the earlier plugins' upstream edits applied.
    static func currentHeaders(_ context: AccessContext) -> HeaderFields {
        let edits = context.edits
        guard !edits.set.isEmpty || !edits.remove.isEmpty else { return context.request.headers }
        return HeaderFields(edits.applied(to: context.request.headers))
    }

    func transformHeaders(
        _ context: inout AccessContext,
        headers requestHeaders: HeaderFields,
        render: (RequestTransformerConfig.Entry) -> String?
    ) {
        let c = self.config
        guard
            !(c.remove.headers.isEmpty && c.rename.headers.isEmpty && c.replace.headers.isEmpty
                && c.add.headers.isEmpty && c.append.headers.isEmpty)
        else { return }
        if c.rename.headers.isEmpty && c.replace.headers.isEmpty && c.append.headers.isEmpty {
            // Removes and adds only (the usual use): no table of the request's headers needed.
            func present(_ name: String) -> Bool {
                !HeaderName.equal(name, "host") && requestHeaders.lookup(name) != nil
            }
            var removed: [String] = []
            for e in c.remove.headers where present(e.name) {
                context.edits.setHeader(e.name, nil)
                removed.append(e.name)
            }
            if let adds = self.plainAdds, removed.isEmpty, context.edits.set.isEmpty, context.edits.remove.isEmpty,
                !adds.names.contains(where: present)
            {
                // Every add applies as it is, as the loop below would apply them one by one.
                context.edits.remove = adds.names
                context.edits.set = adds.pairs
                return
            }
            var added: [String] = []
            for e in c.add.headers where !HeaderName.equal(e.name, "host") {
                // A header removed just before counts as absent (Kong's table no longer has it);
                // one added just before counts as present.
                let absent =
                    (!present(e.name) || removed.contains { HeaderName.lookupEqual($0, e.name) })
                    && !added.contains { HeaderName.lookupEqual($0, e.name) }
                if absent, let value = render(e) {
                    context.edits.setHeader(e.name, value)
                    added.append(e.name)
                }
            }
            return
        }
        // Kong's `get_headers()` table without Host: lower-case names, values in order.
        var headers: [(name: String, values: [String])] = []
        for (name, value) in requestHeaders where !HeaderName.equal(name, "host") {
            let lower = name.lowercased()
            if let i = headers.firstIndex(where: { $0.name == lower }) {
                headers[i].values.append(value)
            } else {
                headers.append((lower, [value]))
            }
        }
        func index(_ name: String) -> Int? { headers.firstIndex { HeaderName.lookupEqual($0.name, name) } }
        var removed: [String] = []
        var changed: [String] = []
        for e in c.remove.headers {
            if let i = index(e.name) {
                headers.remove(at: i)
                removed.append(e.name)
            }
        }
        for e in c.rename.headers {
            guard let new = render(e), let i = index(e.name) else { continue }
            let values = headers[i].values
            headers.remove(at: i)
            headers.removeAll { HeaderName.lookupEqual($0.name, new) }
            headers.append((new, values))
            removed.append(e.name)
            changed.append(new)
        }
        for e in c.replace.headers {
            guard let value = render(e) else { continue }
            if let i = index(e.name) {
                headers[i].values = [value]
                changed.append(headers[i].name)
            } else if HeaderName.equal(e.name, "host") {
                headers.append(("host", [value]))
                changed.append("host")
            }
        }
        for e in c.add.headers where index(e.name) == nil && !HeaderName.equal(e.name, "host") {
            guard let value = render(e) else { continue }
            headers.append((e.name, [value]))
            changed.append(e.name)
        }
        for e in c.append.headers where !HeaderName.equal(e.name, "host") {
            guard let value = render(e) else { continue }
            if let i = index(e.name) {
                headers[i].values.append(value)
                // Kong keeps the configured case for the name.
                headers[i].name = e.name
            } else {
                headers.append((e.name, [value]))
            }
            changed.append(e.name)
        }
        for name in removed where !changed.contains(where: { HeaderName.equal($0, name) }) {
            context.edits.setHeader(name, nil)
        }
        var written: [String] = []
        for name in changed where !written.contains(where: { HeaderName.equal($0, name) }) {
            written.append(name)
            guard let i = index(name) else { continue }
            let entry = headers[i]
            context.edits.setHeader(entry.name, entry.values.first)
            for value in entry.values.dropFirst() { context.edits.set.append((entry.name, value)) }
        }
    }

    // MARK: body

    enum BodyKind { case json, form, multipart }

    /// Kong's `get_content_type`: a case-insensitive substring test, JSON first.
    static func kind(_ contentType: String?) -> BodyKind? {
        guard let lower = contentType?.lowercased() else { return nil }
        if lower.contains("application/json") { return .json }
        if lower.contains("multipart/form-data") { return .multipart }
        if lower.contains("application/x-www-form-urlencoded") { return .form }
        return nil
    }

    func transformBody(
        _ context: inout AccessContext,
        body: [UInt8],
        render: (RequestTransformerConfig.Entry) -> String?
    ) {
        // The Content-Type as the header edits left it (Kong reads it after setting them).
        let contentType = context.upstreamHeader("content-type")
        switch Self.kind(contentType) {
        case .json?:
            var fields: [(String, Rendered)] = []
            if !body.isEmpty {
                var parser = JSONDocument(bytes: body, maxDepth: 1000)
                guard case .object(let parsed)? = parser.document() else { return }
                // A repeated key is one key (cjson keeps the last value).
                for (key, value) in parsed {
                    if let i = fields.firstIndex(where: { $0.0 == key }) {
                        fields[i].1 = value
                    } else {
                        fields.append((key, value))
                    }
                }
            }
            var list: [(name: String, values: [String?])] = fields.map { ($0.0, [nil]) }
            // Track the JSON values apart: edits only ever write strings or arrays of them.
            var values: [String: Rendered] = Dictionary(fields, uniquingKeysWith: { _, b in b })
            let changed = Self.applyBody(self.config, body.isEmpty, to: &list, values: &values, render: render)
            guard changed else { return }
            let object = Rendered.object(list.compactMap { entry in values[entry.name].map { (entry.name, $0) } })
            context.edits.body = Array(object.json.utf8)
        case .form?:
            var args = QueryString.grouped(Substring(decoding: body, as: UTF8.self))
            if Self.apply(self.config, \.body, to: &args, render: render, skipExisting: body.isEmpty) {
                context.edits.body = Array(QueryString.encodeArgs(args).utf8)
            }
        case .multipart?:
            guard
                let edited = Self.editMultipart(
                    body,
                    contentType: contentType ?? "",
                    config: self.config,
                    render: render
                )
            else { return }
            context.edits.body = edited
        case nil:
            return
        }
    }

    /// The JSON body's edits (values kept as JSON, added ones as strings); true when any ran.
    static func applyBody(
        _ c: RequestTransformerConfig,
        _ empty: Bool,
        to list: inout [(name: String, values: [String?])],
        values: inout [String: Rendered],
        render: (RequestTransformerConfig.Entry) -> String?
    ) -> Bool {
        var changed = false
        func truthy(_ name: String) -> Bool {
            guard let v = values[name] else { return false }
            if case .bool(false) = v { return false }
            return true
        }
        if !empty {
            for e in c.remove.body {
                values[e.name] = nil
                list.removeAll { $0.name == e.name }
                changed = true
            }
            for e in c.rename.body {
                guard let new = render(e), new != e.name, truthy(e.name) else { continue }
                values[new] = values[e.name]
                values[e.name] = nil
                list.removeAll { $0.name == e.name || $0.name == new }
                list.append((new, [nil]))
                changed = true
            }
            for e in c.replace.body where truthy(e.name) {
                guard let v = render(e) else { continue }
                values[e.name] = .string(v)
                changed = true
            }
        }
        for e in c.add.body where !truthy(e.name) {
            guard let v = render(e) else { continue }
            if values[e.name] == nil { list.append((e.name, [nil])) }
            values[e.name] = .string(v)
            changed = true
        }
        for e in c.append.body {
            guard let v = render(e) else { continue }
            switch values[e.name] {
            case .string(let s)?: values[e.name] = .array([.string(s), .string(v)])
            case .array(let items)?: values[e.name] = .array(items + [.string(v)])
            case nil:
                list.append((e.name, [nil]))
                values[e.name] = .array([.string(v)])
            default: values[e.name] = .array([.string(v)])
            }
            changed = true
        }
        return changed
    }

    /// remove, rename, replace, add, append on decoded arguments (query or form); true when Kong
    /// would write them back (a remove list, or any edit made). `skipExisting`: an empty body,
    /// where Kong only adds and appends.
    static func apply(
        _ c: RequestTransformerConfig,
        _ part: KeyPath<RequestTransformerConfig.Part, [RequestTransformerConfig.Entry]>,
        to args: inout [(name: String, values: [String?])],
        render: (RequestTransformerConfig.Entry) -> String?,
        skipExisting: Bool = false
    ) -> Bool {
        func find(_ name: String) -> Int? { args.firstIndex { $0.name == name } }
        var changed = false
        if !skipExisting {
            for e in c.remove[keyPath: part] {
                args.removeAll { $0.name == e.name }
                changed = true
            }
            for e in c.rename[keyPath: part] {
                guard let new = render(e), new != e.name, let i = find(e.name) else { continue }
                let values = args[i].values
                args.remove(at: i)
                args.removeAll { $0.name == new }
                args.append((new, values))
                changed = true
            }
            for e in c.replace[keyPath: part] {
                guard let i = find(e.name), let v = render(e) else { continue }
                args[i].values = [v]
                changed = true
            }
        }
        for e in c.add[keyPath: part] where find(e.name) == nil {
            guard let v = render(e) else { continue }
            args.append((e.name, [v]))
            changed = true
        }
        for e in c.append[keyPath: part] {
            guard let v = render(e) else { continue }
            // Kong's `append_value`: an argument without a value (`?flag`) is replaced.
            if let i = find(e.name) {
                args[i].values = args[i].values == [nil] ? [v] : args[i].values + [v]
            } else {
                args.append((e.name, [v]))
            }
            changed = true
        }
        return changed
    }

    /// The multipart edits Kong's multipart library makes (rename, remove, replace, add; no
    /// append): parts kept byte for byte, removed ones cut, new ones appended as simple fields.
    static func editMultipart(
        _ body: [UInt8],
        contentType: String,
        config c: RequestTransformerConfig,
        render: (RequestTransformerConfig.Entry) -> String?
    ) -> [UInt8]? {
        guard let boundary = BodyFields.boundary(contentType) else { return nil }
        let parsed = BodyFields.multipartFields(body, boundary: boundary) ?? []
        var parts: [(name: String, raw: [UInt8]?, value: String)] = parsed.map { field in
            let value = if case .text(let t) = field.value { t } else { "" }
            return (field.name, Array(body[field.range]), value)
        }
        func find(_ name: String) -> Int? { parts.firstIndex { $0.name == name } }
        var changed = false
        if !body.isEmpty {
            for e in c.rename.body {
                guard let new = render(e), new != e.name, let i = find(e.name) else { continue }
                let value = parts[i].value
                parts.removeAll { $0.name == new }
                parts.removeAll { $0.name == e.name }
                parts.append((new, nil, value))
                changed = true
            }
            for e in c.remove.body {
                parts.removeAll { $0.name == e.name }
                changed = true
            }
            for e in c.replace.body where find(e.name) != nil {
                guard let v = render(e) else { continue }
                parts.removeAll { $0.name == e.name }
                parts.append((e.name, nil, v))
                changed = true
            }
        }
        for e in c.add.body where find(e.name) == nil {
            guard let v = render(e) else { continue }
            parts.append((e.name, nil, v))
            changed = true
        }
        guard changed else { return nil }
        // Kong's multipart library encodes no parts as an empty body.
        guard !parts.isEmpty else { return [] }
        var out: [UInt8] = []
        for part in parts {
            if let raw = part.raw {
                out += raw
            } else {
                out += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\"\r\n\r\n".utf8)
                out += Array(part.value.utf8)
                out += Array("\r\n".utf8)
            }
        }
        out += Array("--\(boundary)--\r\n".utf8)
        return out
    }
}
