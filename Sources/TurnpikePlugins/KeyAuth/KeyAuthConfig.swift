public import TurnpikeModel

/// key-auth's config (kong/plugins/key-auth/schema.lua), Kong defaults filled in.
public struct KeyAuthConfig: ScopeFreePluginConfig, Equatable {
    public var keyNames: [String] = ["apikey"]
    public var hideCredentials = false
    /// Consumer id or username used when authentication fails ("OR" mode).
    public var anonymous: String?
    public var keyInHeader = true
    public var keyInQuery = true
    public var keyInBody = false
    public var runOnPreflight = true
    public var realm: String?

    public init() {}

    public var anonymousConsumer: String? { self.anonymous }

    public func rendered() -> Rendered {
        .object([
            ("anonymous", .optional(self.anonymous)),
            ("hide_credentials", .bool(self.hideCredentials)),
            ("key_in_body", .bool(self.keyInBody)),
            ("key_in_header", .bool(self.keyInHeader)),
            ("key_in_query", .bool(self.keyInQuery)),
            ("key_names", .strings(self.keyNames)),
            ("realm", .optional(self.realm)),
            ("run_on_preflight", .bool(self.runOnPreflight)),
        ])
    }

    public static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    ) -> KeyAuthConfig? {
        var config = KeyAuthConfig()
        guard let node else { return config }
        guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
        let before = diagnostics.errors.count
        if let names = r.array(
            "key_names",
            required: false,
            element: { n, p -> String? in
                guard let s = Record.string(n, path: p, diagnostics: diagnostics) else { return nil }
                if let message = Validators.headerName(s) {
                    diagnostics.add(message, node: n, path: p.text)
                    return nil
                }
                return s
            }
        ) {
            if names.isEmpty, node["key_names"]?.sequence?.isEmpty ?? true {
                r.error("length must be at least 1", key: "key_names")
            } else {
                config.keyNames = names
            }
        } else if r.isNull("key_names") {
            r.error("required field missing", key: "key_names")
        }
        if let v = r.bool("hide_credentials") { config.hideCredentials = v }
        config.anonymous = r.string("anonymous")
        if let v = r.bool("key_in_header") { config.keyInHeader = v }
        if let v = r.bool("key_in_query") { config.keyInQuery = v }
        if let v = r.bool("key_in_body") { config.keyInBody = v }
        if let v = r.bool("run_on_preflight") { config.runOnPreflight = v }
        config.realm = r.string("realm")
        for required in ["hide_credentials", "key_in_header", "key_in_query", "key_in_body", "run_on_preflight"]
        where r.isNull(required) {
            r.error("required field missing", key: required)
        }
        r.finish()
        return diagnostics.errors.count == before ? config : nil
    }
}
