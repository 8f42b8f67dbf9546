public import Foundation

/// A Kong `certificates` entity: a certificate chain and its key, presented by TLS listeners to
/// clients whose server name one of its `snis` matches, or to an upstream as a service's
/// `client_certificate` (kong/db/schema/entities/certificates.lua). The key is a secret: never
/// shown (render, admin API, errors, logs).
public struct TLSCertificate: Sendable {
    public var id: EntityID
    /// PEM chain, leaf first, as given.
    public var cert: String
    /// PEM private key, as given.
    public var key: String
    /// The leaf's key is ECDSA (else RSA or another type).
    public var isECDSA: Bool
    /// `cert_alt` and `key_alt`: the same names with the other key type (RSA beside ECDSA).
    public var alternative: (cert: String, key: String)?
    public var tags: [String]?
    /// The leaf's expiry (an expired certificate loads, with a warning, as in Kong).
    public var notValidAfter: Date
    public var location: SourceLocation
    public var fieldPath: FieldPath

    public init(
        id: EntityID,
        cert: String,
        key: String,
        notValidAfter: Date,
        isECDSA: Bool = false,
        location: SourceLocation,
        path: FieldPath
    ) {
        self.id = id
        self.cert = cert
        self.key = key
        self.isECDSA = isECDSA
        self.notValidAfter = notValidAfter
        self.location = location
        self.fieldPath = path
    }
}

/// A Kong `snis` entity: a server name (or `*.suffix`, `prefix.*`, `*` for the default) and the
/// certificate presented for it (kong/db/schema/entities/snis.lua).
public struct SNI: Sendable {
    public var id: EntityID
    public var name: String
    public var certificate: EntityID
    public var tags: [String]?
    public var location: SourceLocation
    public var fieldPath: FieldPath

    public init(id: EntityID, name: String, certificate: EntityID, location: SourceLocation, path: FieldPath) {
        self.id = id
        self.name = name
        self.certificate = certificate
        self.location = location
        self.fieldPath = path
    }
}
