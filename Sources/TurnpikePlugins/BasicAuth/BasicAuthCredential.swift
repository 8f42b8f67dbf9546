import Crypto
public import TurnpikeModel

/// A basic-auth credential's own fields (`basicauth_credentials`,
/// kong/plugins/basic-auth/daos.lua). Only the password's digest is kept once the consumer is known.
public struct BasicAuthCredential: CredentialKind {
    public var username: String
    /// Kong's stored form: lowercase hex SHA-1 of `password .. consumer_id`.
    public var passwordDigest: String
    /// The password as the file gave it, until `link` hashes it with the consumer id.
    var clearPassword: String?

    public init(username: String, passwordDigest: String) {
        self.username = username
        self.passwordDigest = passwordDigest
    }

    public static let collection = "basicauth_credentials"
    public static let adminCollection = "basic-auths"
    public static let adminNestedCollection = "basic-auth"
    public static let endpointKey: String? = "username"
    public static let uniqueFields = [CredentialUniqueField<Self>("username") { $0.username }]

    public static func decode(_ record: inout Record) -> BasicAuthCredential {
        let username = record.string("username", required: true)
        var credential = BasicAuthCredential(username: username ?? "", passwordDigest: "")
        credential.clearPassword = record.string("password", required: true)
        return credential
    }

    /// Kong's ids for credentials without one derive from the username.
    public func derivedID(consumer: EntityID) -> CredentialIDSource { .name("turnpike:\(self.username)") }

    /// `_transform: false` (Kong's export) means the password is already Kong's digest.
    public mutating func link(id: EntityID, consumer: EntityID, transform: Bool) {
        guard let password = self.clearPassword else { return }
        self.passwordDigest = transform ? Self.digest(password: password, consumer: consumer) : password
        self.clearPassword = nil
    }

    public var endpointValue: String? { self.username }

    public func renderedFields() -> [(String, Rendered)] {
        [("username", .string(self.username)), ("password", .string(Rendered.redacted))]
    }

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

    /// Credentials by username.
    public struct Index: Sendable {
        let byUsername: [String: Credential<BasicAuthCredential>]

        public func credential(username: String) -> Credential<BasicAuthCredential>? {
            self.byUsername[username]
        }
    }

    public static func index(_ credentials: [Credential<BasicAuthCredential>]) -> Index {
        var byUsername: [String: Credential<BasicAuthCredential>] = [:]
        byUsername.reserveCapacity(credentials.count)
        for credential in credentials where byUsername[credential.fields.username] == nil {
            byUsername[credential.fields.username] = credential
        }
        return Index(byUsername: byUsername)
    }
}

extension Credential where Kind == BasicAuthCredential {
    /// Whether `password` is this credential's, compared in constant time.
    public func verify(password: String) -> Bool {
        ConstantTime.equal(
            BasicAuthCredential.digest(password: password, consumer: self.consumer),
            self.fields.passwordDigest
        )
    }
}
