import Crypto

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

    public init(
        id: EntityID,
        consumer: EntityID,
        username: String,
        passwordDigest: String,
        location: SourceLocation,
        path: FieldPath
    ) {
        self.id = id
        self.consumer = consumer
        self.username = username
        self.passwordDigest = passwordDigest
        self.location = location
        self.fieldPath = path
    }
}

extension BasicAuthCredential {
    /// Kong's stored form of a password: lowercase hex SHA-1 of `password .. consumer_id`.
    public static func digest(password: String, consumer: EntityID) -> String {
        var sha = Insecure.SHA1()
        sha.update(data: Array(password.utf8))
        sha.update(data: Array(consumer.description.utf8))
        var out = ""
        out.reserveCapacity(40)
        for b in sha.finalize() {
            out.append(EntityID.hexCharacter(b >> 4))
            out.append(EntityID.hexCharacter(b & 0xf))
        }
        return out
    }

    /// Whether `password` is this credential's, compared in constant time.
    public func verify(password: String) -> Bool {
        ConstantTime.equal(Self.digest(password: password, consumer: self.consumer), self.passwordDigest)
    }
}

/// Comparisons of secrets that take a time depending on the lengths only, never on where the
/// bytes first differ.
public enum ConstantTime {
    public static func equal(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                guard x.count == y.count else { return false }
                var difference: UInt8 = 0
                for i in 0..<x.count { difference |= x[i] ^ y[i] }
                return difference == 0
            }
        }
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
