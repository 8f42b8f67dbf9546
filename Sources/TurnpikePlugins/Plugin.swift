public import TurnpikeModel

/// Where a plugin instance is attached, for rules such as "not on a consumer".
public struct PluginScope: Sendable, Equatable {
    public var service: EntityID?
    public var route: EntityID?
    public var consumer: EntityID?

    public init(service: EntityID? = nil, route: EntityID? = nil, consumer: EntityID? = nil) {
        self.service = service
        self.route = route
        self.consumer = consumer
    }
}

/// A decoded, validated plugin config with Kong's defaults filled in.
public protocol PluginConfig: Sendable {
    /// Every field in Kong's order, for `render` and the admin API. Secrets are redacted.
    func rendered() -> Rendered
    /// An auth plugin's `anonymous` (consumer id or username), checked at load to name a
    /// consumer of the file; nil for other plugins.
    var anonymousConsumer: String? { get }
}

extension PluginConfig {
    public var anonymousConsumer: String? { nil }
}

/// A plugin turnpike implements. Its config schema sits next to its code (`XConfig.swift`); its
/// request phases are the phase protocols its instance type conforms to (docs/plugins.md).
public protocol Plugin: Sendable {
    associatedtype Config: PluginConfig
    /// The Kong name: `key-auth`.
    static var name: String { get }
    /// Kong's number; higher runs first in every phase.
    static var priority: Int { get }
    /// Whether Kong forbids attaching the plugin to a consumer (auth plugins, acl, cors).
    static var allowsConsumerScope: Bool { get }
    /// Decodes `config` (nil when the file has none: all defaults). Reports every problem into
    /// `diagnostics` under `path` and returns nil when the config is unusable.
    static func decode(
        _ config: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        scope: PluginScope,
        diagnostics: Diagnostics
    ) -> Config?
}

extension Plugin {
    public static var allowsConsumerScope: Bool { true }
}

/// A config whose checks do not depend on the plugin's scope: its plugin's `decode` is then the
/// config's own (no forwarding code per plugin).
public protocol ScopeFreePluginConfig: PluginConfig {
    static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    )
        -> Self?
}

extension Plugin where Config: ScopeFreePluginConfig {
    public static func decode(
        _ config: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        scope: PluginScope,
        diagnostics: Diagnostics
    ) -> Config? {
        Config.decode(config, at: location, path: path, diagnostics: diagnostics)
    }
}

/// A config that keeps where its instance is attached (rate-limiting's counters are keyed by the
/// route and service, as Kong keys them): the plugin's `decode` is the config's, plus the scope.
public protocol ScopeKeepingPluginConfig: ScopeFreePluginConfig {
    var scope: PluginScope { get set }
}

extension Plugin where Config: ScopeKeepingPluginConfig {
    public static func decode(
        _ config: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        scope: PluginScope,
        diagnostics: Diagnostics
    ) -> Config? {
        var decoded = Config.decode(config, at: location, path: path, diagnostics: diagnostics)
        decoded?.scope = scope
        return decoded
    }
}

extension PluginScope {
    /// `<route id>:<service id>`, zeros for what the instance is not attached to: how Kong's
    /// rate-limiting plugins name an instance in their counters' keys.
    public var counterKey: String {
        (self.route ?? .zero).description + ":" + (self.service ?? .zero).description
    }
}
