public import TurnpikeModel

/// Kong's key-auth: a consumer proves itself with an API key in a header, query or body.
public struct KeyAuthPlugin: Plugin {
    public static let name = "key-auth"
    public static let priority = 1250
    public static let allowsConsumerScope = false

    public let config: KeyAuthConfig

    public init(config: KeyAuthConfig) {
        self.config = config
    }

    public static func decode(
        _ config: ConfigNode?, at location: SourceLocation, path: FieldPath, scope: PluginScope, diagnostics: Diagnostics
    ) -> KeyAuthConfig? {
        KeyAuthConfig.decode(config, path: path, diagnostics: diagnostics)
    }
}
