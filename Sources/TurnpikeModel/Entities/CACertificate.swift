/// A Kong `ca_certificates` entity: a CA certificate services trust when verifying their targets
/// (kong/db/schema/entities/ca_certificates.lua).
public struct CACertificate: Sendable {
    public var id: EntityID
    /// One PEM certificate, as given.
    public var cert: String
    /// Hex SHA-256 of the certificate's DER bytes (Kong computes it on write).
    public var certDigest: String
    public var tags: [String]?
    public var location: SourceLocation
    public var fieldPath: FieldPath

    public init(id: EntityID, cert: String, certDigest: String, location: SourceLocation, path: FieldPath) {
        self.id = id
        self.cert = cert
        self.certDigest = certDigest
        self.location = location
        self.fieldPath = path
    }
}
