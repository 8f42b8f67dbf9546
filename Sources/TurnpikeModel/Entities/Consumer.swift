/// A Kong consumer: an identity that credentials belong to.
public struct Consumer: Sendable {
    public var id: EntityID
    public var username: String?
    public var customID: String?
    public var tags: [String]?
    public var location: SourceLocation
    public var fieldPath: FieldPath

    public init(id: EntityID, location: SourceLocation, path: FieldPath) {
        self.id = id
        self.location = location
        self.fieldPath = path
    }
}
