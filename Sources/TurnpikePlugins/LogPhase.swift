public import TurnpikeModel

/// What the log phase learns of a finished request (Kong's `log` phase, a small part of its
/// serializer): called once per request, after the last byte went out or the exchange failed.
/// Handlers run on the event loop: they must not block (hand work to a store's queue).
public struct LogEntry: Sendable {
    public var requestID: RequestID
    public var method: String
    public var path: String
    /// The status the client got; 0 when the connection was cut before a response.
    public var status: Int
    public var routeID: EntityID?
    public var serviceID: EntityID?
    public var consumerID: EntityID?
    /// Kong's latencies, in milliseconds (`request` = total, `kong` = the gateway's own share).
    public var totalLatencyMs: Int64
    public var upstreamLatencyMs: Int64?
    /// What the request's plugins kept in `kong.ctx` (read-only here).
    public var plugins = PluginContext()

    public init(
        requestID: RequestID,
        method: String,
        path: String,
        status: Int,
        routeID: EntityID?,
        serviceID: EntityID?,
        consumerID: EntityID?,
        totalLatencyMs: Int64,
        upstreamLatencyMs: Int64?
    ) {
        self.requestID = requestID
        self.method = method
        self.path = path
        self.status = status
        self.routeID = routeID
        self.serviceID = serviceID
        self.consumerID = consumerID
        self.totalLatencyMs = totalLatencyMs
        self.upstreamLatencyMs = upstreamLatencyMs
    }
}

public protocol LogPhaseHandler: Sendable {
    var name: String { get }
    func log(_ entry: LogEntry)
}
