/// Kong's `kong.ctx` for one request: what plugins keep between the phases of that request.
/// `shared` is every plugin's (`kong.ctx.shared`); `subscript(plugin:)` is one plugin's own
/// (`kong.ctx.plugin`). Empty and allocation-free until a plugin stores something.
public struct PluginContext: Sendable {
    /// Values every plugin of the request can read and write.
    public var shared: [String: any Sendable] = [:]
    private var own: [String: [String: any Sendable]] = [:]

    public init() {}

    /// The values of one plugin (by its name), for this request only.
    public subscript(plugin name: String) -> [String: any Sendable] {
        get { self.own[name] ?? [:] }
        set { self.own[name] = newValue }
    }

    /// A value a plugin stored for itself, as `type`.
    public func value<T: Sendable>(_ key: String, of plugin: String, as type: T.Type = T.self) -> T? {
        self.own[plugin]?[key] as? T
    }
}
