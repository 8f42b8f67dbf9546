public import TurnpikeModel

/// Kong's acl: allow or deny consumers by group, after authentication.
public struct ACLPlugin: Plugin {
    public static let name = "acl"
    public static let priority = 950
    public static let allowsConsumerScope = false

    public let config: ACLConfig

    public init(config: ACLConfig) {
        self.config = config
    }

    public static func decode(
        _ config: ConfigNode?, at location: SourceLocation, path: FieldPath, scope: PluginScope, diagnostics: Diagnostics
    ) -> ACLConfig? {
        ACLConfig.decode(config, at: location, path: path, diagnostics: diagnostics)
    }
}
