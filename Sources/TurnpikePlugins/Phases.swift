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
        self.headers.first { $0.name.utf8.count == 12 && $0.name.lowercased() == "content-type" }?.value
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
        let lower = name.lowercased()
        self.set.removeAll { $0.name.lowercased() == lower }
        self.remove.append(name)
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
        self.edits.setHeader("X-Consumer-ID", consumer.id.description)
        self.edits.setHeader("X-Consumer-Custom-ID", consumer.customID)
        self.edits.setHeader("X-Consumer-Username", consumer.username)
        self.edits.setHeader("X-Credential-Identifier", credentialID?.description)
        self.edits.setHeader("X-Anonymous-Consumer", credentialID == nil ? "true" : nil)
        self.authentication = Authentication(consumer: consumer, credentialID: credentialID)
    }
}
