public import TurnpikeModel
public import TurnpikePlugins

/// The config of a test plugin that takes none.
public struct EmptyPluginConfig: PluginConfig {
    public init() {}
    public func rendered() -> Rendered { .object([]) }
}

extension Plugin where Config == EmptyPluginConfig {
    /// A test plugin's `config:` is ignored.
    public static func decode(
        _ config: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        scope: PluginScope,
        diagnostics: Diagnostics
    ) -> EmptyPluginConfig? {
        EmptyPluginConfig()
    }
}
