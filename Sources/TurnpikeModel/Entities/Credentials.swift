/// A key-auth credential (`keyauth_credentials`). The key is a secret: never print it.
public struct KeyAuthCredential: Sendable {
    public var id: EntityID
    public var consumer: EntityID
    /// Nil when the file gave none (Kong would draw a random one per load, which nobody can use).
    public var key: String?
    /// Absolute Unix time (seconds) after which the key stops working, as Kong's export writes it.
    public var ttl: Int?
    public var tags: [String]?
    public var location: SourceLocation
    public var fieldPath: FieldPath

    public init(id: EntityID, consumer: EntityID, location: SourceLocation, path: FieldPath) {
        self.id = id
        self.consumer = consumer
        self.location = location
        self.fieldPath = path
    }
}

/// A basic-auth credential (`basicauth_credentials`). Only the password digest is kept.
public struct BasicAuthCredential: Sendable {
    public var id: EntityID
    public var consumer: EntityID
    public var username: String
    /// Kong's stored form: lowercase hex SHA-1 of `password .. consumer_id`.
    public var passwordDigest: String
    public var tags: [String]?
    public var location: SourceLocation
    public var fieldPath: FieldPath

    public init(id: EntityID, consumer: EntityID, username: String, passwordDigest: String, location: SourceLocation, path: FieldPath) {
        self.id = id
        self.consumer = consumer
        self.username = username
        self.passwordDigest = passwordDigest
        self.location = location
        self.fieldPath = path
    }
}

/// An ACL group membership (`acls`).
public struct ACLGroup: Sendable {
    public var id: EntityID
    public var consumer: EntityID
    public var group: String
    public var tags: [String]?
    public var location: SourceLocation
    public var fieldPath: FieldPath

    public init(id: EntityID, consumer: EntityID, group: String, location: SourceLocation, path: FieldPath) {
        self.id = id
        self.consumer = consumer
        self.group = group
        self.location = location
        self.fieldPath = path
    }
}
