public import TurnpikeModel

/// What the access phase sees of a request. Built once per request, only for routes with plugins.
public struct AccessRequest: Sendable {
    public var method: String
    /// Header names as received, in order.
    public var headers: [(name: String, value: String)]
    /// The raw query string (after `?`, not decoded); nil when the target has none.
    public var query: Substring?
    /// The whole request body, read only when a handler of the chain `needsBody`; nil when the
    /// request has none or it was too large to hold (Kong's `client_body_buffer_size`).
    public var body: [UInt8]?

    public init(method: String, headers: [(name: String, value: String)], query: Substring?, body: [UInt8]? = nil) {
        self.method = method
        self.headers = headers
        self.query = query
        self.body = body
    }

    /// The first `Content-Type` header.
    public var contentType: String? {
        self.headers.first { HeaderName.equal($0.name, "content-type") }?.value
    }
}

/// Changes the access phase makes to the request sent upstream.
public struct UpstreamEdits: Sendable {
    /// Headers removed (case-insensitive names), then `set` applied (replacing).
    public var remove: [String] = []
    public var set: [(name: String, value: String)] = []
    /// A replacement for the raw query string (nil: unchanged; empty: drop the query).
    public var query: String?
    /// A replacement for the request body (nil: unchanged); sent with its own Content-Length.
    public var body: [UInt8]?

    public init() {}

    /// Replaces the header upstream (a later plugin's value wins); nil removes it.
    public mutating func setHeader(_ name: String, _ value: String?) {
        if let i = self.set.firstIndex(where: { HeaderName.equal($0.name, name) }) { self.set.remove(at: i) }
        if !self.remove.contains(where: { HeaderName.equal($0, name) }) { self.remove.append(name) }
        if let value { self.set.append((name, value)) }
    }
}

/// A response the gateway makes instead of proxying (401, 403, 429, …), in Kong's error format.
public struct LocalResponse: Sendable, Equatable {
    public var status: Int
    public var message: String
    public var headers: [String: String]

    public init(status: Int, message: String, headers: [String: String] = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }
}

public enum AccessOutcome: Sendable, Equatable {
    case proceed
    case respond(LocalResponse)
}

/// The identity an auth plugin established (Kong's `ngx.ctx.authenticated_*`).
public struct Authentication: Sendable {
    public var consumer: Consumer
    /// Nil for the anonymous consumer.
    public var credentialID: EntityID?
}

/// Per-request state the access phase threads through the plugins of a chain.
public struct AccessContext: Sendable {
    public var request: AccessRequest
    public var edits = UpstreamEdits()
    public var authentication: Authentication?
    /// Wall-clock seconds, for credential `ttl`s (injected so tests control time).
    public var now: Int

    public init(request: AccessRequest, now: Int) {
        self.request = request
        self.now = now
    }
}

/// Lookups the access phase needs from the running config (the snapshot implements it).
public protocol CredentialDirectory: Sendable {
    func keyAuthCredential(key: String) -> KeyAuthCredential?
    func basicAuthCredential(username: String) -> BasicAuthCredential?
    /// The consumer's ACL groups, in file order.
    func groups(consumer: EntityID) -> [String]
    func consumer(id: EntityID) -> Consumer?
    func consumer(idOrUsername: String) -> Consumer?
}

/// A plugin instance ready to run its access phase.
public protocol AccessHandler: Sendable {
    var name: String { get }
    /// Whether the handler reads the request body: the proxy then holds the body (up to
    /// `AccessRequest.bodyBufferLimit`) and runs the chain once it is complete.
    var needsBody: Bool { get }
    func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome
}

extension AccessHandler {
    public var needsBody: Bool { false }
}

extension AccessRequest {
    /// The largest body an access handler gets to read: nginx's `client_body_buffer_size` as
    /// Kong sets it (8 KiB); a larger body reads as no body (plugins.md §3.3).
    public static let bodyBufferLimit = 8 * 1024
}

extension AccessContext {
    /// Kong's identity headers (plugins.md §1.3): each is set or removed, so clients cannot smuggle them.
    public mutating func setConsumerHeaders(consumer: Consumer, credentialID: EntityID?) {
        let id = consumer.id.description
        let credential = credentialID?.description
        if self.edits.set.isEmpty && self.edits.remove.isEmpty {
            // The usual case, the first plugin to edit headers: no earlier edit to replace.
            self.edits.remove = Self.identityHeaders
            self.edits.set.reserveCapacity(4)
            self.edits.set.append(("X-Consumer-ID", id))
            if let value = consumer.customID { self.edits.set.append(("X-Consumer-Custom-ID", value)) }
            if let value = consumer.username { self.edits.set.append(("X-Consumer-Username", value)) }
            if let credential { self.edits.set.append(("X-Credential-Identifier", credential)) }
            if credential == nil { self.edits.set.append(("X-Anonymous-Consumer", "true")) }
        } else {
            self.edits.setHeader("X-Consumer-ID", id)
            self.edits.setHeader("X-Consumer-Custom-ID", consumer.customID)
            self.edits.setHeader("X-Consumer-Username", consumer.username)
            self.edits.setHeader("X-Credential-Identifier", credential)
            self.edits.setHeader("X-Anonymous-Consumer", credential == nil ? "true" : nil)
        }
        self.authentication = Authentication(consumer: consumer, credentialID: credentialID)
    }

    /// The headers `setConsumerHeaders` sets or removes, in the order they go upstream.
    static let identityHeaders = [
        "X-Consumer-ID", "X-Consumer-Custom-ID", "X-Consumer-Username", "X-Credential-Identifier",
        "X-Anonymous-Consumer",
    ]
}

// MARK: - Response phase

/// The response phase (Kong's `header_filter`): the status and headers about to go to the client,
/// whether the upstream answered or the gateway did (an access-phase 401, a 502, …). Handlers
/// change headers through `setHeader`; the body streams through untouched.
public struct ResponseContext: Sendable {
    public let status: Int
    public let requestID: String
    /// The consumer the access phase identified, if any.
    public let consumer: Consumer?
    /// Header names removed (case-insensitive), then `set` written (replacing).
    public private(set) var remove: [String] = []
    public private(set) var set: [(name: String, value: String)] = []

    public init(status: Int, requestID: String, consumer: Consumer?) {
        self.status = status
        self.requestID = requestID
        self.consumer = consumer
    }

    /// Replaces the header sent to the client (a later handler's value wins); nil removes it.
    public mutating func setHeader(_ name: String, _ value: String?) {
        if let i = self.set.firstIndex(where: { HeaderName.equal($0.name, name) }) { self.set.remove(at: i) }
        if !self.remove.contains(where: { HeaderName.equal($0, name) }) { self.remove.append(name) }
        if let value { self.set.append((name, value)) }
    }

    /// Whether a header from the upstream or the gateway is dropped or replaced.
    public func removes(_ name: String) -> Bool {
        self.remove.contains { HeaderName.equal($0, name) }
    }
}

public protocol ResponseHandler: Sendable {
    var name: String { get }
    func response(_ context: inout ResponseContext)
}

// MARK: - Body phase

/// The body phase (Kong's `body_filter`): each piece of a proxied response body on its way to
/// the client, in order, then a last call with `last` set (and possibly no bytes). A handler may
/// return other bytes (or none). A route with body handlers sends its responses without a length
/// (chunked, or ended by the close for HTTP/1.0), since the handlers may change it.
public protocol BodyHandler: Sendable {
    var name: String { get }
    func body(_ chunk: [UInt8], last: Bool) -> [UInt8]
}

// MARK: - Log phase

/// What the log phase learns of a finished request (Kong's `log` phase, a small part of its
/// serializer): called once per request, after the last byte went out or the exchange failed.
/// Handlers run on the event loop: they must not block (hand work to a queue of their own).
public struct LogEntry: Sendable {
    public var requestID: String
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

    public init(
        requestID: String,
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

/// The handlers of one route (or of the global scope), per phase, resolved by Kong's precedence
/// and sorted by priority when the snapshot is built.
public struct PhaseChains: Sendable {
    public var access: [any AccessHandler]
    public var response: [any ResponseHandler]
    public var body: [any BodyHandler]
    public var log: [any LogPhaseHandler]

    public init(
        access: [any AccessHandler] = [],
        response: [any ResponseHandler] = [],
        body: [any BodyHandler] = [],
        log: [any LogPhaseHandler] = []
    ) {
        self.access = access
        self.response = response
        self.body = body
        self.log = log
    }

    public static let empty = PhaseChains()
}

/// Header names compare ASCII case-insensitively, without lower-cased copies.
public enum HeaderName {
    @inlinable
    public static func equal(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && Self.equal(a.utf8, b.utf8)
    }

    @inlinable
    public static func equal<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x != y {
            let fx = (x >= 0x41 && x <= 0x5A) ? x | 0x20 : x
            let fy = (y >= 0x41 && y <= 0x5A) ? y | 0x20 : y
            if fx != fy { return false }
        }
        return true
    }
}
