import NIOCore
import TurnpikeModel

/// Kong's response-transformer (kong/plugins/response-transformer/): header edits on every
/// answer, in Kong's order (remove, rename, replace, add, append; the tests of rename, replace and
/// add read the headers as they stood before these edits), and JSON body edits on `application/json` (or `+json`)
/// answers. A body to edit is held until it ends, up to `maxBodyBytes`; a larger one goes out
/// unchanged (Kong holds any size).
public struct ResponseTransformerPlugin: Plugin, ResponseHandler, BodyHandler {
    public static let name = "response-transformer"
    public static let priority = 800
    public typealias Config = ResponseTransformerConfig

    /// The most a JSON body is held for its edits.
    public static let maxBodyBytes = 4 * 1024 * 1024

    public let config: ResponseTransformerConfig
    public var name: String { Self.name }

    public init(config: ResponseTransformerConfig) {
        self.config = config
    }

    public func response(_ context: inout ResponseContext) {
        let c = self.config
        // Kong tests presence on the headers as they stand when its turn comes: the upstream's
        // and the gateway's (Via, Server, X-Kong-*) with the edits of the plugins before it (cors,
        // correlation-id, rate-limiting), none of its own.
        let before = context
        let present = { (name: String) in before.header(name) != nil }
        for h in c.remove.headers { context.setHeader(h.name, nil) }
        for h in c.rename.headers where present(h.name) {
            guard let new = h.value else { continue }
            let upstream = before.removes(h.name) ? [] : before.originalValues(h.name)
            context.setHeader(new, before.header(h.name))
            for value in upstream.dropFirst() { context.addHeader(new, value) }
            context.setHeader(h.name, nil)
        }
        for h in c.replace.headers where present(h.name) {
            if let value = h.value { context.setHeader(h.name, value) }
        }
        for h in c.add.headers where !present(h.name) {
            if let value = h.value { context.setHeader(h.name, value) }
        }
        for h in c.append.headers {
            if let value = h.value { context.addHeader(h.name, value) }
        }
    }

    public func bodyFilter(for response: ResponseContext) -> (any BodyFilter)? {
        guard self.config.editsBody, Self.isJSON(response.header("content-type")) else { return nil }
        return JSONBodyEdit(config: self.config)
    }

    /// Kong's `is_json_body`: any comma-separated type that is `application/json` or
    /// `application/<x>+json`.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        for part in contentType.split(separator: ",") {
            guard let type = MediaType(String(part.kongStripped)) else { continue }
            if type.type == "application" && (type.subtype == "json" || type.subtype.hasSuffix("+json")) { return true }
        }
        return false
    }

    /// Holds a JSON body and edits it at its end (loop-confined, one per response).
    final class JSONBodyEdit: BodyFilter {
        let config: ResponseTransformerConfig
        var held: [UInt8] = []
        var passing = false

        init(config: ResponseTransformerConfig) {
            self.config = config
        }

        func filter(_ chunk: ByteBuffer, last: Bool) -> ByteBuffer {
            if self.passing { return chunk }
            guard self.held.count + chunk.readableBytes <= ResponseTransformerPlugin.maxBodyBytes else {
                // Too large to hold: what was held goes out with this chunk, the rest streams.
                self.passing = true
                var out = ByteBuffer(bytes: self.held)
                var rest = chunk
                out.writeBuffer(&rest)
                self.held = []
                return out
            }
            self.held += chunk.readableBytesView
            guard last else { return ByteBuffer() }
            // Kong sends a body it cannot parse as it came.
            let edited = JSONBodyEditor.edit(self.held, config: self.config) ?? self.held
            return ByteBuffer(bytes: edited)
        }
    }
}

/// Kong's `transform_json_body`: remove, rename, replace, add, append on the top-level object,
/// values made as Kong makes them (`json_value`, then `json_types`).
enum JSONBodyEditor {
    static func edit(_ body: [UInt8], config: ResponseTransformerConfig) -> [UInt8]? {
        // Bytes that are not UTF-8 would not survive the round trip: such a body goes out as it came.
        guard String(validating: body, as: UTF8.self) != nil else { return nil }
        var parser = JSONDocument(bytes: body, maxDepth: 1000)
        guard case .object(let parsed)? = parser.document() else { return nil }
        // A repeated key keeps its last value, as cjson decodes it (so an edit reaches every copy).
        var fields: [(String, Rendered)] = []
        var seen: [String: Int] = [:]
        for (key, value) in parsed {
            if let at = seen[key] {
                fields[at].1 = value
            } else {
                seen[key] = fields.count
                fields.append((key, value))
            }
        }
        func index(_ name: String) -> Int? { fields.firstIndex { $0.0 == name } }
        func set(_ name: String, _ value: Rendered) {
            if let i = index(name) { fields[i].1 = value } else { fields.append((name, value)) }
        }
        /// Lua's truthiness: absent and `false` are false (JSON null is cjson.null, a true value).
        func truthy(_ name: String) -> Bool {
            guard let i = index(name) else { return false }
            if case .bool(false) = fields[i].1 { return false }
            return true
        }
        for pair in config.remove.json { fields.removeAll { $0.0 == pair.name } }
        for pair in config.rename.json {
            guard let i = index(pair.name), let new = pair.value else { continue }
            let value = fields[i].1
            set(new, value)
            // Kong sets the new key, then clears the old one: renaming a key to itself removes it.
            fields.removeAll { $0.0 == pair.name }
        }
        for (i, pair) in config.replace.json.enumerated() {
            guard let v = Self.value(pair.value, type: config.replace.jsonTypes[safe: i]) else { continue }
            if truthy(pair.name) { set(pair.name, v) }
        }
        for (i, pair) in config.add.json.enumerated() {
            guard let v = Self.value(pair.value, type: config.add.jsonTypes[safe: i]) else { continue }
            if !truthy(pair.name) { set(pair.name, v) }
        }
        for (i, pair) in config.append.json.enumerated() {
            guard let v = Self.value(pair.value, type: config.append.jsonTypes[safe: i]) else { continue }
            switch index(pair.name).map({ fields[$0].1 }) {
            case .string(let s)?: set(pair.name, .array([.string(s), v]))
            case .array(let items)?: set(pair.name, .array(items + [v]))
            default: set(pair.name, .array([v]))
            }
        }
        return Array(Rendered.object(fields).json.utf8)
    }

    /// Kong's `json_value`: the text as cjson would write it inside quotes, with `\"` and `\/`
    /// undone (so backslashes and control characters stay escaped, as in Kong), then cast.
    static func value(_ text: String?, type: String?) -> Rendered? {
        guard let text else { return nil }
        var encoded = ""
        Rendered.writeJSONString(text, into: &encoded)
        var inner = String(encoded.dropFirst().dropLast())
        inner = inner.replacing("\\\"", with: "\"")
        switch type {
        case "number":
            if let i = Int(inner) { return .integer(i) }
            return Double(inner).map(Rendered.number)
        case "boolean":
            return .bool(inner == "true")
        default:
            return .string(inner)
        }
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { self.indices.contains(i) ? self[i] : nil }
}
