/// A Kong upstream: a named, load-balanced set of targets.
public struct Upstream: Sendable {
    public var id: EntityID
    public var name: String
    public var algorithm: String
    public var hashOn: String
    public var hashFallback: String
    public var hashOnHeader: String?
    public var hashFallbackHeader: String?
    public var hashOnCookie: String?
    public var hashOnCookiePath: String
    public var hashOnQueryArg: String?
    public var hashFallbackQueryArg: String?
    public var hashOnURICapture: String?
    public var hashFallbackURICapture: String?
    public var slots: Int
    public var healthchecks: Healthchecks
    public var hostHeader: String?
    public var useSrvName: Bool
    public var tags: [String]?
    public var location: SourceLocation
    public var fieldPath: FieldPath

    public init(id: EntityID, name: String, location: SourceLocation, path: FieldPath) {
        self.id = id
        self.name = name
        self.algorithm = "round-robin"
        self.hashOn = "none"
        self.hashFallback = "none"
        self.hashOnCookiePath = "/"
        self.slots = 10000
        self.healthchecks = Healthchecks()
        self.useSrvName = false
        self.location = location
        self.fieldPath = path
    }
}

/// Kong's `healthchecks` record with its defaults.
public struct Healthchecks: Sendable, Equatable {
    public struct Active: Sendable, Equatable {
        public var type = "http"
        public var timeout: Double = 1
        public var concurrency = 10
        public var httpPath = "/"
        public var httpsSNI: String?
        public var httpsVerifyCertificate = true
        public var headers: [HeaderValues]?
        public var healthy = Healthy(interval: 0, httpStatuses: [200, 302], successes: 0)
        public var unhealthy = Unhealthy(
            interval: 0,
            httpStatuses: [429, 404, 500, 501, 502, 503, 504, 505],
            tcpFailures: 0,
            timeouts: 0,
            httpFailures: 0
        )
        public init() {}
    }

    public struct Passive: Sendable, Equatable {
        public var type = "http"
        public var healthy = Healthy(
            interval: nil,
            httpStatuses: [
                200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308,
            ],
            successes: 0
        )
        public var unhealthy = Unhealthy(
            interval: nil,
            httpStatuses: [429, 500, 503],
            tcpFailures: 0,
            timeouts: 0,
            httpFailures: 0
        )
        public init() {}
    }

    public struct Healthy: Sendable, Equatable {
        /// Seconds between probes; nil for passive checks, which have no interval.
        public var interval: Double?
        public var httpStatuses: [Int]
        public var successes: Int
    }

    public struct Unhealthy: Sendable, Equatable {
        public var interval: Double?
        public var httpStatuses: [Int]
        public var tcpFailures: Int
        public var timeouts: Int
        public var httpFailures: Int
    }

    public struct HeaderValues: Sendable, Equatable {
        public var name: String
        public var values: [String]
    }

    public var active = Active()
    public var passive = Passive()
    public var threshold: Double = 0

    public init() {}
}
