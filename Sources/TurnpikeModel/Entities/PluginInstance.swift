/// A configured plugin. Its `config` stays a raw node here: the plugin registry decodes and
/// validates it when the snapshot is built, because only the plugin knows its schema.
public struct PluginInstance: Sendable {
    public var id: EntityID
    public var name: String
    /// Where `name` is written, for "unknown plugin" errors.
    public var nameLocation: SourceLocation
    public var instanceName: String?
    /// The `config` record as written (nil when absent: the plugin's defaults apply).
    public var config: ConfigNode?
    public var service: EntityID?
    public var route: EntityID?
    public var consumer: EntityID?
    public var protocols: [EntityProtocol]
    public var enabled: Bool
    public var tags: [String]?
    public var location: SourceLocation
    public var fieldPath: FieldPath

    public init(id: EntityID, name: String, location: SourceLocation, path: FieldPath) {
        self.id = id
        self.name = name
        self.nameLocation = location
        self.protocols = [.grpc, .grpcs, .http, .https]
        self.enabled = true
        self.location = location
        self.fieldPath = path
    }

    /// `plugins[3] (key-auth)`: how errors name a plugin, as in `plugins[2] (rate-limiting).config.minute`.
    public var label: FieldPath { FieldPath(self.fieldPath.text + " (\(self.name))") }
}
