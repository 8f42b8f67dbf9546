public import TurnpikeModel

/// jwt's config (kong/plugins/jwt/schema.lua), Kong defaults filled in.
public struct JWTConfig: ScopeFreePluginConfig, Equatable {
    public var uriParamNames = ["jwt"]
    public var cookieNames: [String] = []
    public var keyClaimName = "iss"
    public var secretIsBase64 = false
    /// Nil when not configured (Kong keeps null: nothing verified).
    public var claimsToVerify: [String]?
    /// Consumer id or username used when authentication fails ("OR" mode).
    public var anonymous: String?
    public var runOnPreflight = true
    /// Seconds; 0: no maximum.
    public var maximumExpiration: Double = 0
    public var headerNames = ["authorization"]
    public var realm: String?

    public init() {}

    public var anonymousConsumer: String? { self.anonymous }

    public func rendered() -> Rendered {
        .object([
            ("anonymous", .optional(self.anonymous)),
            ("claims_to_verify", self.claimsToVerify.map { .strings($0) } ?? .null),
            ("cookie_names", .strings(self.cookieNames)),
            ("header_names", .strings(self.headerNames)),
            ("key_claim_name", .string(self.keyClaimName)),
            ("maximum_expiration", LuaNumber.rendered(self.maximumExpiration)),
            ("realm", .optional(self.realm)),
            ("run_on_preflight", .bool(self.runOnPreflight)),
            ("secret_is_base64", .bool(self.secretIsBase64)),
            ("uri_param_names", .strings(self.uriParamNames)),
        ])
    }

    /// Kong's `set` fields: repeated elements are one.
    static func set(_ list: [String]) -> [String] {
        var seen = Set<String>()
        return list.filter { seen.insert($0).inserted }
    }

    public static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    ) -> JWTConfig? {
        var config = JWTConfig()
        guard let node else { return config }
        guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
        let before = diagnostics.errors.count
        if let v = r.stringArray("uri_param_names") { config.uriParamNames = Self.set(v) }
        if let v = r.stringArray("cookie_names") { config.cookieNames = Self.set(v) }
        if let v = r.string("key_claim_name") { config.keyClaimName = v }
        if let v = r.bool("secret_is_base64") { config.secretIsBase64 = v }
        if let v = r.oneOfArray("claims_to_verify", ["exp", "nbf"]) { config.claimsToVerify = Self.set(v) }
        config.anonymous = r.string("anonymous")
        if let v = r.bool("run_on_preflight") { config.runOnPreflight = v }
        if let v = r.number("maximum_expiration") {
            if v < 0 || v > 31_536_000 {
                r.error("value should be between 0 and 31536000", key: "maximum_expiration")
            } else {
                config.maximumExpiration = v
            }
        }
        if let v = r.stringArray("header_names") { config.headerNames = Self.set(v) }
        config.realm = r.string("realm")
        for required in [
            "uri_param_names", "cookie_names", "key_claim_name", "secret_is_base64", "run_on_preflight",
            "header_names",
        ]
        where r.isNull(required) {
            r.error("required field missing", key: required)
        }
        r.finish()
        guard diagnostics.errors.count == before else { return nil }
        // Kong's entity check: a maximum needs `exp` verified (null passes, as in Kong).
        if config.maximumExpiration > 0, let claims = config.claimsToVerify, !claims.contains("exp") {
            diagnostics.add("expected to contain: exp", at: location, path: path.appending("claims_to_verify").text)
            diagnostics.add(
                "failed conditional validation given value of field 'config.maximum_expiration'",
                at: location,
                path: path.text
            )
            return nil
        }
        return config
    }
}
