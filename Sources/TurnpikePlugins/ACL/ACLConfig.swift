public import TurnpikeModel

/// acl's config (kong/plugins/acl/schema.lua): exactly one of `allow` and `deny`.
public struct ACLConfig: ScopeFreePluginConfig, Equatable {
    public var allow: [String]?
    public var deny: [String]?
    public var hideGroupsHeader = false
    public var alwaysUseAuthenticatedGroups = false

    public init() {}

    public func rendered() -> Rendered {
        .object([
            ("allow", .strings(self.allow)),
            ("always_use_authenticated_groups", .bool(self.alwaysUseAuthenticatedGroups)),
            ("deny", .strings(self.deny)),
            ("hide_groups_header", .bool(self.hideGroupsHeader)),
        ])
    }

    public static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    ) -> ACLConfig? {
        var config = ACLConfig()
        let before = diagnostics.errors.count
        if let node {
            guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
            config.allow = r.stringArray("allow")
            config.deny = r.stringArray("deny")
            if let v = r.bool("hide_groups_header") { config.hideGroupsHeader = v }
            if let v = r.bool("always_use_authenticated_groups") { config.alwaysUseAuthenticatedGroups = v }
            for required in ["hide_groups_header", "always_use_authenticated_groups"] where r.isNull(required) {
                r.error("required field missing", key: required)
            }
            r.finish()
        }
        let hasAllow = !(config.allow?.isEmpty ?? true)
        let hasDeny = !(config.deny?.isEmpty ?? true)
        let place = node?.location ?? location
        if hasAllow && hasDeny {
            diagnostics.add(
                "only one of these fields must be non-empty: 'config.allow', 'config.deny'",
                at: place,
                path: path.text
            )
        } else if !hasAllow && !hasDeny && diagnostics.errors.count == before {
            diagnostics.add(
                "at least one of these fields must be non-empty: 'config.allow', 'config.deny'",
                at: place,
                path: path.text
            )
        }
        return diagnostics.errors.count == before ? config : nil
    }
}
