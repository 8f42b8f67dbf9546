/// A Kong route: which requests match, and the service they go to.
public struct Route: Sendable {
    public var id: EntityID
    public var name: String?
    public var protocols: [EntityProtocol]
    public var methods: [String]?
    public var hosts: [String]?
    public var paths: [String]?
    /// Where each element of `paths` is written (same order), for errors found when compiling regexes.
    public var pathLocations: [SourceLocation] = []
    /// Header name (as written) to accepted values, in file order.
    public var headers: [(name: String, values: [String])]?
    public var snis: [String]?
    public var stripPath: Bool
    public var preserveHost: Bool
    public var regexPriority: Int
    public var pathHandling: String
    public var httpsRedirectStatusCode: Int
    public var requestBuffering: Bool
    public var responseBuffering: Bool
    public var service: EntityID?
    public var tags: [String]?
    public var location: SourceLocation
    public var fieldPath: FieldPath

    public init(id: EntityID, location: SourceLocation, path: FieldPath) {
        self.id = id
        self.name = nil
        self.protocols = [.http, .https]
        self.stripPath = true
        self.preserveHost = false
        self.regexPriority = 0
        self.pathHandling = "v0"
        self.httpsRedirectStatusCode = 426
        self.requestBuffering = true
        self.responseBuffering = true
        self.location = location
        self.fieldPath = path
    }
}
