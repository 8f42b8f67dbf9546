public import TurnpikeModel

/// Kong's basic-auth: `Authorization: Basic base64(user:password)` against consumer credentials.
public struct BasicAuthPlugin: Plugin {
    public static let name = "basic-auth"
    public static let priority = 1100
    public static let allowsConsumerScope = false

    public let config: BasicAuthConfig

    public init(config: BasicAuthConfig) {
        self.config = config
    }

    public static func decode(
        _ config: ConfigNode?, at location: SourceLocation, path: FieldPath, scope: PluginScope, diagnostics: Diagnostics
    ) -> BasicAuthConfig? {
        BasicAuthConfig.decode(config, path: path, diagnostics: diagnostics)
    }
}
