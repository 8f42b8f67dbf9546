public import TurnpikeModel

/// basic-auth's config (kong/plugins/basic-auth/schema.lua), Kong defaults filled in.
public struct BasicAuthConfig: ScopeFreePluginConfig, Equatable {
    public var anonymous: String?
    public var hideCredentials = false
    public var realm = "service"

    public init() {}

    public var anonymousConsumer: String? { self.anonymous }

    public func rendered() -> Rendered {
        .object([
            ("anonymous", .optional(self.anonymous)),
            ("hide_credentials", .bool(self.hideCredentials)),
            ("realm", .string(self.realm)),
        ])
    }

    public static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    ) -> BasicAuthConfig? {
        var config = BasicAuthConfig()
        guard let node else { return config }
        guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
        let before = diagnostics.errors.count
        config.anonymous = r.string("anonymous")
        if let v = r.bool("hide_credentials") { config.hideCredentials = v }
        if let v = r.string("realm") { config.realm = v }
        for required in ["hide_credentials", "realm"] where r.isNull(required) {
            r.error("required field missing", key: required)
        }
        r.finish()
        return diagnostics.errors.count == before ? config : nil
    }
}
