public import TurnpikeModel

/// An hmac-auth credential's own fields (`hmacauth_credentials`,
/// kong/plugins/hmac-auth/daos.lua): a username the signature names, and the secret it is made
/// with (never shown).
public struct HMACAuthCredential: CredentialKind {
    public var username: String
    /// Nil until `link` when the file gave none: then one nobody outside the process knows (Kong
    /// draws a random one and its admin API shows it; turnpike never shows secrets), so such a
    /// credential can never be used.
    public var secret: String?

    public init(username: String, secret: String? = nil) {
        self.username = username
        self.secret = secret
    }

    public static let collection = "hmacauth_credentials"
    public static let adminCollection = "hmac-auths"
    public static let adminNestedCollection = "hmac-auth"
    public static let endpointKey: String? = "username"
    public static let uniqueFields = [CredentialUniqueField<Self>("username") { $0.username }]

    public static func decode(_ record: inout Record) -> HMACAuthCredential {
        HMACAuthCredential(username: record.string("username", required: true) ?? "", secret: record.string("secret"))
    }

    /// Ids of credentials without one derive from the username, as basic-auth's.
    public func derivedID(consumer: EntityID) -> CredentialIDSource { .name("turnpike:\(self.username)") }

    public mutating func link(id: EntityID, consumer: EntityID, transform: Bool) {
        if self.secret == nil { self.secret = SecretDigest.unknowable("hmacauth_credentials:\(id)") }
    }

    public var endpointValue: String? { self.username }

    public func renderedFields() -> [(String, Rendered)] {
        [("username", .string(self.username)), ("secret", .string(Rendered.redacted))]
    }

    /// Credentials by username, their secrets as bytes.
    public struct Index: Sendable {
        let byUsername: [String: (credential: Credential<HMACAuthCredential>, secret: [UInt8])]

        public func credential(username: String) -> (credential: Credential<HMACAuthCredential>, secret: [UInt8])? {
            self.byUsername[username]
        }
    }

    public static func index(_ credentials: [Credential<HMACAuthCredential>]) -> Index {
        var byUsername: [String: (credential: Credential<HMACAuthCredential>, secret: [UInt8])] = [:]
        byUsername.reserveCapacity(credentials.count)
        // No secret (never after `link`): not filed, never one keyed with "".
        for credential in credentials where byUsername[credential.fields.username] == nil {
            guard let secret = credential.fields.secret else { continue }
            byUsername[credential.fields.username] = (credential, Array(secret.utf8))
        }
        return Index(byUsername: byUsername)
    }
}
