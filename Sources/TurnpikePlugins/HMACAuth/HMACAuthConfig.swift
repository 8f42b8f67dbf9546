public import TurnpikeModel

/// hmac-auth's config (kong/plugins/hmac-auth/schema.lua), Kong defaults filled in.
public struct HMACAuthConfig: ScopeFreePluginConfig, Equatable {
    public static let allAlgorithms = ["hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"]

    public var hideCredentials = false
    /// Seconds a `Date` / `X-Date` may be away from now.
    public var clockSkew: Double = 300
    /// Consumer id or username used when authentication fails ("OR" mode).
    public var anonymous: String?
    public var validateRequestBody = false
    /// Header names the signature must cover (compared exactly, as Kong does).
    public var enforceHeaders: [String] = []
    public var algorithms = Self.allAlgorithms
    public var realm: String?

    public init() {}

    public var anonymousConsumer: String? { self.anonymous }

    public func rendered() -> Rendered {
        .object([
            ("algorithms", .strings(self.algorithms)),
            ("anonymous", .optional(self.anonymous)),
            ("clock_skew", LuaNumber.rendered(self.clockSkew)),
            ("enforce_headers", .strings(self.enforceHeaders)),
            ("hide_credentials", .bool(self.hideCredentials)),
            ("realm", .optional(self.realm)),
            ("validate_request_body", .bool(self.validateRequestBody)),
        ])
    }

    public static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    ) -> HMACAuthConfig? {
        var config = HMACAuthConfig()
        guard let node else { return config }
        guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
        let before = diagnostics.errors.count
        if let v = r.bool("hide_credentials") { config.hideCredentials = v }
        if let v = r.number("clock_skew") {
            if v > 0 { config.clockSkew = v } else { r.error("value must be greater than 0", key: "clock_skew") }
        }
        config.anonymous = r.string("anonymous")
        if let v = r.bool("validate_request_body") { config.validateRequestBody = v }
        if let v = r.stringArray("enforce_headers") { config.enforceHeaders = v }
        if let v = r.oneOfArray("algorithms", Self.allAlgorithms) { config.algorithms = v }
        config.realm = r.string("realm")
        for required in ["hide_credentials", "validate_request_body"] where r.isNull(required) {
            r.error("required field missing", key: required)
        }
        r.finish()
        return diagnostics.errors.count == before ? config : nil
    }
}
