public import TurnpikeModel

/// A key-auth credential's own fields (`keyauth_credentials`, kong/plugins/key-auth/daos.lua).
/// The key is a secret: never printed, never part of an id.
public struct KeyAuthCredential: CredentialKind {
    /// Nil when the file gave none (Kong would draw a random one per load, which nobody can use).
    public var key: String?
    /// Absolute Unix time (seconds) after which the key stops working, as Kong's export writes it.
    public var ttl: Int?

    public init(key: String? = nil, ttl: Int? = nil) {
        self.key = key
        self.ttl = ttl
    }

    public static let collection = "keyauth_credentials"
    public static let adminCollection = "key-auths"
    public static let adminNestedCollection = "key-auth"
    public static let endpointKey: String? = "key"
    public static let uniqueFields = [CredentialUniqueField<Self>("key", secret: true) { $0.key }]

    public static func decode(_ record: inout Record) -> KeyAuthCredential {
        KeyAuthCredential(key: record.string("key"), ttl: record.integer("ttl", in: 0...100_000_000_000))
    }

    public var endpointValue: String? { self.key }

    public func renderedFields() -> [(String, Rendered)] {
        [("key", self.key == nil ? .null : .string(Rendered.redacted)), ("ttl", .optional(self.ttl))]
    }

    /// Kong shows keys in clear; turnpike shows a short keyed digest, enough to tell keys apart.
    public func adminFields() -> [(String, Rendered)] {
        [("key", self.key.map { .string(SecretDigest.short($0)) } ?? .null), ("ttl", .optional(self.ttl))]
    }

    /// Keys filed by a salted digest: one hash probe per request, whatever the number of consumers.
    public struct Index: Sendable {
        let keys: SecretIndex
        let credentials: [Credential<KeyAuthCredential>]

        public func credential(key: String) -> Credential<KeyAuthCredential>? {
            self.keys.find(key) { self.credentials[$0].fields.key ?? "" }.map { self.credentials[$0] }
        }
    }

    public static func index(_ credentials: [Credential<KeyAuthCredential>]) -> Index {
        Index(keys: SecretIndex(credentials.map(\.fields.key)), credentials: credentials)
    }
}
