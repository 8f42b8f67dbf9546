public import TurnpikeModel

/// proxy-cache's config (kong/plugins/proxy-cache/schema.lua), `strategy: memory` only. Every
/// field with Kong's default and check. `memory.dictionary_name` names an nginx shared dict in
/// Kong; Turnpike has one process-wide cache (`--cache-size`), so the name is read and kept for
/// `render` but chooses nothing.
public struct ProxyCacheConfig: ScopeFreePluginConfig, Equatable {
    public var responseCode: [Int] = [200, 301, 404]
    public var requestMethod: [String] = ["GET", "HEAD"]
    public var contentType: [String] = ["text/plain", "application/json"]
    public var cacheTTL = 300
    public var strategy = "memory"
    public var cacheControl = false
    public var ignoreURICase = false
    public var storageTTL: Int?
    public var dictionaryName = "kong_db_cache"
    public var varyQueryParams: [String]?
    public var varyHeaders: [String]?
    /// `response_headers`: which of `age`, `X-Cache-Status`, `X-Cache-Key` are sent.
    public var sendAge = true
    public var sendStatus = true
    public var sendKey = true

    public init() {}

    static let methods = ["HEAD", "GET", "POST", "PATCH", "PUT"]

    public func rendered() -> Rendered {
        .object([
            ("cache_control", .bool(self.cacheControl)),
            ("cache_ttl", .integer(self.cacheTTL)),
            ("content_type", .strings(self.contentType)),
            ("ignore_uri_case", .bool(self.ignoreURICase)),
            ("memory", .object([("dictionary_name", .string(self.dictionaryName))])),
            ("request_method", .strings(self.requestMethod)),
            ("response_code", .array(self.responseCode.map(Rendered.integer))),
            (
                "response_headers",
                .object([
                    ("X-Cache-Key", .bool(self.sendKey)), ("X-Cache-Status", .bool(self.sendStatus)),
                    ("age", .bool(self.sendAge)),
                ])
            ),
            ("storage_ttl", .optional(self.storageTTL)),
            ("strategy", .string(self.strategy)),
            ("vary_headers", .strings(self.varyHeaders)),
            ("vary_query_params", .strings(self.varyQueryParams)),
        ])
    }

    public static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    ) -> ProxyCacheConfig? {
        var config = ProxyCacheConfig()
        let before = diagnostics.errors.count
        guard let node else {
            diagnostics.add("required field missing", at: location, path: path.appending("strategy").text)
            return nil
        }
        guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
        if let codes = r.array(
            "response_code",
            element: { element, elementPath -> Int? in
                Record.integer(element, path: elementPath, diagnostics: diagnostics, in: 100...900)
            }
        ) {
            if codes.isEmpty && diagnostics.errors.count == before {
                r.error("length must be at least 1", key: "response_code")
            } else {
                config.responseCode = codes
            }
        }
        if let methods = r.oneOfArray("request_method", Self.methods) { config.requestMethod = methods }
        if let v = r.stringArray("content_type") { config.contentType = v }
        if let n = r.value("cache_ttl") {
            if let v = n.integer, v > 0, v <= Int64(Int32.max) {
                config.cacheTTL = Int(v)
            } else {
                r.error(
                    n.integer == nil ? "expected an integer" : "value must be greater than 0",
                    key: "cache_ttl",
                    node: n
                )
            }
        }
        if let v = r.oneOf("strategy", ["memory"], required: true) { config.strategy = v }
        if let v = r.bool("cache_control") { config.cacheControl = v }
        if let v = r.bool("ignore_uri_case") { config.ignoreURICase = v }
        if let v = r.integer("storage_ttl", in: 0...Int64(Int32.max)) { config.storageTTL = v }
        if let n = r.value("memory"), !n.isNull,
            var m = Record(n, path: path.appending("memory"), diagnostics: diagnostics)
        {
            if let v = m.string("dictionary_name") { config.dictionaryName = v }
            m.finish()
        }
        config.varyQueryParams = r.stringArray("vary_query_params")
        config.varyHeaders = r.stringArray("vary_headers")
        if let n = r.value("response_headers"), !n.isNull,
            var h = Record(n, path: path.appending("response_headers"), diagnostics: diagnostics)
        {
            if let v = h.bool("age") { config.sendAge = v }
            if let v = h.bool("X-Cache-Status") { config.sendStatus = v }
            if let v = h.bool("X-Cache-Key") { config.sendKey = v }
            h.finish()
        }
        for required in ["response_code", "request_method", "content_type", "cache_control"] where r.isNull(required) {
            r.error("required field missing", key: required)
        }
        r.finish()
        return diagnostics.errors.count == before ? config : nil
    }
}
