public import TurnpikeModel

/// A jwt credential's own fields (`jwt_secrets`, kong/plugins/jwt/daos.lua). The `key` is what
/// tokens name in their `iss` (or configured) claim, shown as it is; the `secret` is never shown.
/// The public key is parsed at load, once.
public struct JWTSecret: CredentialKind {
    /// Nil until `link` when the file gave none: then derived from the credential's id (its 32
    /// hex digits), so it is the same at every load and readable in the admin API. Kong draws a
    /// random one at each load.
    public var key: String?
    /// The HMAC secret (HS256/384/512). Nil until `link` when the file gave none: then one nobody
    /// outside the process knows (Kong draws a random one and its admin API shows it; turnpike
    /// never shows secrets), so such a credential only serves the public-key algorithms.
    public var secret: String?
    /// The PEM text, as given (also for ES256/384/512, which Kong does not require it for).
    public var rsaPublicKey: String?
    public var algorithm: String
    /// `rsaPublicKey` parsed (nil without one).
    public var publicKey: JWTPublicKey?

    public init(key: String? = nil, secret: String? = nil, rsaPublicKey: String? = nil, algorithm: String = "HS256") {
        self.key = key
        self.secret = secret
        self.rsaPublicKey = rsaPublicKey
        self.algorithm = algorithm
        self.publicKey = rsaPublicKey.flatMap { try? JWTPublicKey.parse($0).get() }
    }

    public static func == (a: JWTSecret, b: JWTSecret) -> Bool {
        a.key == b.key && a.secret == b.secret && a.rsaPublicKey == b.rsaPublicKey && a.algorithm == b.algorithm
    }

    public static let collection = "jwt_secrets"
    public static let adminCollection = "jwts"
    public static let adminNestedCollection = "jwt"
    public static let endpointKey: String? = "key"
    public static let uniqueFields = [CredentialUniqueField<Self>("key") { $0.key }]

    /// Kong's `algorithm` values.
    public static let algorithms = [
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512",
        "EdDSA",
    ]
    /// The algorithms Kong requires `rsa_public_key` for (not the ES ones).
    static let needingPublicKey: Set<String> = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"]

    public static func decode(_ record: inout Record) -> JWTSecret {
        var credential = JWTSecret(key: record.string("key"), secret: record.string("secret"))
        let pem = record.string("rsa_public_key")
        if let algorithm = record.oneOf("algorithm", Self.algorithms) { credential.algorithm = algorithm }
        if let pem {
            credential.rsaPublicKey = pem
            switch JWTPublicKey.parse(pem) {
            case .success(let key):
                credential.publicKey = key
            case .failure(let problem):
                record.error(problem.message, key: "rsa_public_key")
                if Self.needingPublicKey.contains(credential.algorithm) {
                    record.entityError("failed conditional validation given value of field 'algorithm'")
                }
            }
        } else if Self.needingPublicKey.contains(credential.algorithm) {
            record.error("required field missing", key: "rsa_public_key")
            record.entityError("failed conditional validation given value of field 'algorithm'")
        }
        return credential
    }

    public mutating func link(id: EntityID, consumer: EntityID, transform: Bool) {
        if self.key == nil { self.key = id.hexDigits }
        if self.secret == nil { self.secret = SecretDigest.unknowable("jwt_secrets:\(id)") }
    }

    public var endpointValue: String? { self.key }

    public func renderedFields() -> [(String, Rendered)] {
        [
            ("key", .optional(self.key)),
            ("secret", .string(Rendered.redacted)),
            // A private key given in its place (accepted: its public half is used) is a secret.
            (
                "rsa_public_key",
                self.rsaPublicKey.map { JWTPublicKey.isPrivate($0) ? .string(Rendered.redacted) : .string($0) } ?? .null
            ),
            ("algorithm", .string(self.algorithm)),
        ]
    }

    /// Credentials by key: one hash probe per token, whatever the number of consumers (keys
    /// are not secrets: tokens carry them in clear). An HS credential's HMAC is keyed once, for
    /// both readings of `secret_is_base64`.
    public struct Index: Sendable {
        let byKey: [String: Int]
        let credentials: [Credential<JWTSecret>]
        /// Per credential: the HMAC keyed with the secret as given, and read as base64url (nil
        /// when it is not base64url, or the credential is not HS).
        let macs: [(plain: KeyedMAC?, base64: KeyedMAC?)]

        public func credential(key: String) -> (Credential<JWTSecret>, plain: KeyedMAC?, base64: KeyedMAC?)? {
            guard let i = self.byKey[key] else { return nil }
            return (self.credentials[i], self.macs[i].plain, self.macs[i].base64)
        }
    }

    public static func index(_ credentials: [Credential<JWTSecret>]) -> Index {
        var byKey: [String: Int] = [:]
        byKey.reserveCapacity(credentials.count)
        var macs: [(plain: KeyedMAC?, base64: KeyedMAC?)] = []
        macs.reserveCapacity(credentials.count)
        for (i, credential) in credentials.enumerated() {
            if let key = credential.fields.key, byKey[key] == nil { byKey[key] = i }
            // No secret (never after `link`): no MAC at all, never one keyed with "".
            guard let secret = credential.fields.secret else {
                macs.append((nil, nil))
                continue
            }
            let algorithm = credential.fields.algorithm
            macs.append(
                (
                    KeyedMAC(algorithm: algorithm, key: Array(secret.utf8)),
                    NginxBase64.decode(secret, .url).flatMap { KeyedMAC(algorithm: algorithm, key: $0) }
                )
            )
        }
        return Index(byKey: byKey, credentials: credentials, macs: macs)
    }
}
