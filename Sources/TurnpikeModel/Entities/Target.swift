/// A target of an upstream: `host:port` with a weight. Kong's default port for targets is 8000.
public struct Target: Sendable {
    public var id: EntityID
    public var upstream: EntityID
    /// Normalised `host:port` (port added when absent; IPv6 in brackets).
    public var target: String
    public var weight: Int
    public var tags: [String]?
    public var location: SourceLocation
    public var fieldPath: FieldPath

    public init(id: EntityID, upstream: EntityID, target: String, location: SourceLocation, path: FieldPath) {
        self.id = id
        self.upstream = upstream
        self.target = target
        self.weight = 100
        self.location = location
        self.fieldPath = path
    }
}
