/// A Kong service: where matched requests go.
public struct Service: Sendable {
    public var id: EntityID
    public var name: String?
    public var `protocol`: EntityProtocol
    public var host: String
    public var port: Int
    public var path: String?
    public var retries: Int
    public var connectTimeout: Int
    public var writeTimeout: Int
    public var readTimeout: Int
    public var enabled: Bool
    public var tlsVerify: Bool?
    public var tlsVerifyDepth: Int?
    /// Ids of `ca_certificates` entities: the trust store when verifying targets.
    public var caCertificates: [EntityID]?
    /// A `certificates` entity presented to the targets (mTLS).
    public var clientCertificate: EntityID?
    public var tags: [String]?
    /// Where the entity starts in the file, for errors about the whole entity.
    public var location: SourceLocation
    /// Its path in the file (`services[2]`), for errors found after decoding.
    public var fieldPath: FieldPath

    public init(id: EntityID, host: String, location: SourceLocation, path: FieldPath) {
        self.id = id
        self.name = nil
        self.protocol = .http
        self.host = host
        self.port = 80
        self.path = nil
        self.retries = 5
        self.connectTimeout = 60000
        self.writeTimeout = 60000
        self.readTimeout = 60000
        self.enabled = true
        self.location = location
        self.fieldPath = path
    }
}
