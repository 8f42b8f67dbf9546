public import TurnpikeModel

/// What the access phase sees of a request (Kong's `kong.request`). Built once per request, only
/// for routes with access handlers.
public struct AccessRequest: Sendable {
    public var method: String
    /// `http` (or `https` on a TLS listener).
    public var scheme: String
    /// The Host the client asked for, without its port, lower-cased (Kong's `get_host`); empty
    /// when the request had none (HTTP/1.0).
    public var host: String
    /// The port of the listener the request came in on (Kong's `get_port`).
    public var port: Int
    /// The path as the client sent it, without the query (Kong's `get_raw_path`).
    public var path: Substring
    /// The path as the router read it: percent-decoding of unreserved bytes, dot segments and
    /// repeated slashes resolved (Kong's `get_path`, RFC 3986 §6). Empty when not given (tests).
    public var normalizedPath: [UInt8] = []
    /// The raw query string (after `?`, not decoded); nil when the target has none.
    public var query: Substring?
    /// `1.0` or `1.1` (Kong's `get_http_version`, as `%.01f` writes it).
    public var httpVersion = "1.1"
    /// Header fields as received, in order (at most `--max-headers` of them, as Kong's
    /// `lua_max_req_headers`): a view of the parsed head, strings made only for what is read.
    public var headers: HeaderFields
    /// The whole request body, read only when a handler of the chain `needsBody`; nil when the
    /// request has none or it was too large to hold (Kong's `client_body_buffer_size`).
    public var body: [UInt8]?
    /// The client's address (Kong's `get_forwarded_ip` without trusted proxies: the peer).
    public var clientAddress: String
    /// A regex route's captures (Kong's `uri_captures`): by group number (0: the whole match) and
    /// by name; empty for other routes.
    public var uriCaptures = URICaptures()
    /// The connection the request came on (correlation-id's `tracker`): the listener's address,
    /// the connection's serial number and how many requests it has carried, this one included.
    public var connection = ConnectionFacts()
    /// The matched route and its service (look the entities up in the `CredentialDirectory`).
    public var routeID: EntityID?
    public var serviceID: EntityID?

    public init(
        method: String,
        scheme: String = "http",
        host: String = "",
        port: Int = 0,
        path: Substring = "/",
        headers: [(name: String, value: String)],
        query: Substring?,
        body: [UInt8]? = nil,
        clientAddress: String = "",
        routeID: EntityID? = nil,
        serviceID: EntityID? = nil
    ) {
        self.method = method
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
        self.headers = HeaderFields(headers)
        self.query = query
        self.body = body
        self.clientAddress = clientAddress
        self.routeID = routeID
        self.serviceID = serviceID
    }

    /// Kong's `get_path`: the normalized path (the raw one when none was given).
    public var kongPath: String {
        self.normalizedPath.isEmpty ? String(self.path) : String(decoding: self.normalizedPath, as: UTF8.self)
    }

    /// Whether the request declares no body (no `Transfer-Encoding`, no length or a zero one):
    /// Kong then reads its raw body as "".
    public var declaresNoBody: Bool {
        self.header("transfer-encoding") == nil && (self.header("content-length").map { $0 == "0" } ?? true)
    }

    /// The first `Content-Type` header.
    public var contentType: String? { self.header("content-type") }

    /// The first value of a header (case-insensitive name).
    public func header(_ name: String) -> String? {
        self.headers.first(name)
    }

    /// The largest body an access handler gets to read: nginx's `client_body_buffer_size` as
    /// Kong sets it (8 KiB); a larger body reads as no body (Kong's `kong.request.get_body`).
    public static let bodyBufferLimit = 8 * 1024
}

/// Kong's `uri_captures`: `unnamed` by group number, `named` by name; nil for a group that did
/// not take part.
public struct URICaptures: Sendable {
    public var unnamed: [String?] = []
    public var named: [String: String?] = [:]

    public init(unnamed: [String?] = [], named: [String: String?] = [:]) {
        self.unnamed = unnamed
        self.named = named
    }
}

/// nginx's `$server_addr`, `$server_port`, `$connection` and `$connection_requests`.
public struct ConnectionFacts: Sendable {
    public var serverAddress = ""
    public var serverPort = 0
    public var serial = 0
    public var requests = 0

    public init(serverAddress: String = "", serverPort: Int = 0, serial: Int = 0, requests: Int = 0) {
        self.serverAddress = serverAddress
        self.serverPort = serverPort
        self.serial = serial
        self.requests = requests
    }
}

/// Changes the access phase makes to the request sent upstream (Kong's `kong.service.request`).
public struct UpstreamEdits: Sendable {
    /// Headers removed (case-insensitive names), then `set` applied (replacing).
    public var remove: [String] = []
    public var set: [(name: String, value: String)] = []
    /// A replacement for the raw query string (nil: unchanged; empty: drop the query).
    public var query: String?
    /// A replacement for the request body (nil: unchanged); sent with its own Content-Length.
    public var body: [UInt8]?
    /// A replacement for the method sent upstream (Kong's `set_method`); nil: the client's.
    public var method: String?
    /// A replacement for the whole path sent upstream, not encoded (Kong's `set_path`: the route's
    /// stripping and the service path no longer apply); nil: the usual joined path.
    public var path: String?
    /// A cap on the body streamed upstream, counted as it goes (request-size-limiting on a body
    /// without a declared length); nil: none.
    public var bodyLimit: BodyLimit?

    /// What happens past `maxBytes`: the upstream request ends and the client gets `status` with
    /// Kong's error body around `message` (the connection then closes: the rest of the body is
    /// never read).
    public struct BodyLimit: Sendable, Equatable {
        public var maxBytes: Int64
        public var status: Int
        public var message: String

        public init(maxBytes: Int64, status: Int, message: String) {
            self.maxBytes = maxBytes
            self.status = status
            self.message = message
        }
    }

    public init() {}

    /// `headers` as they go upstream with these edits: the removed names gone, the set ones added.
    public func applied<S: Sequence<(name: String, value: String)>>(to headers: S) -> [(name: String, value: String)] {
        headers.filter { h in !self.remove.contains { HeaderName.equal($0, h.name) } } + self.set
    }

    /// Replaces the header upstream (a later plugin's value wins); nil removes it.
    public mutating func setHeader(_ name: String, _ value: String?) {
        HeaderEdits.set(name, value, remove: &self.remove, set: &self.set)
    }
}

/// How a plugin's access phase ends.
public enum AccessOutcome: Sendable, Equatable {
    /// The next handler runs (then the request goes upstream).
    case proceed
    /// The gateway answers; no later handler runs and nothing goes upstream.
    case respond(LocalResponse)
    /// The plugin waits for I/O (a Redis reply): the chain resumes at the next handler once the
    /// plugin completes `pending`, on the request's event loop, or when its timeout passes.
    case pending(PendingAccess)

    public static func == (a: AccessOutcome, b: AccessOutcome) -> Bool {
        switch (a, b) {
        case (.proceed, .proceed): return true
        case (.respond(let x), .respond(let y)): return x == y
        case (.pending(let x), .pending(let y)): return x === y
        default: return false
        }
    }
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
    /// Kong's `kong.ctx`: state a plugin keeps for the later phases of the same request.
    public var plugins = PluginContext()
    /// Headers for the client's response, set during access (Kong's `kong.response.set_header`
    /// in access): they go on whatever answer the request gets, proxied or the gateway's own,
    /// before the response phase runs. Names distinct; a later set of a name replaces it.
    public private(set) var responseHeaders: [(name: String, value: String)] = []
    /// Their names, in order (kept so the response side needs no list of its own).
    public private(set) var responseHeaderNames: [String] = []
    /// Wall-clock seconds, for credential `ttl`s (injected so tests control time).
    public var now: Int

    public init(request: AccessRequest, now: Int) {
        self.request = request
        self.now = now
    }
}

/// Lookups the access phase needs from the running config (the snapshot implements it).
public protocol CredentialDirectory: Sendable {
    /// The running config's index of a credential kind (built once per snapshot by
    /// `CredentialKind.index`); nil when the kind is not registered.
    func credentials<K: CredentialKind>(_ kind: K.Type) -> K.Index?
    func consumer(id: EntityID) -> Consumer?
    func consumer(idOrUsername: String) -> Consumer?
    func route(id: EntityID) -> Route?
    func service(id: EntityID) -> Service?
    /// A route or service as Kong's admin API shows it (every field, foreign keys as
    /// `{"id": …}`, timestamps): request-termination's echo shows the matched ones.
    func kongEntity(route id: EntityID) -> Rendered?
    func kongEntity(service id: EntityID) -> Rendered?
}

extension CredentialDirectory {
    public func kongEntity(route id: EntityID) -> Rendered? { nil }
    public func kongEntity(service id: EntityID) -> Rendered? { nil }
}

/// A plugin instance ready to run its access phase.
public protocol AccessHandler: Sendable {
    var name: String { get }
    /// Whether the handler reads the request body: the pipeline then holds the body (up to
    /// `AccessRequest.bodyBufferLimit`) and runs the chain once it is complete.
    var needsBody: Bool { get }
    /// The request methods the access phase does anything for (nil: all). When no handler of a
    /// chain cares about a request's method, the pipeline skips the access phase and does not
    /// build its context (cors acts on preflights only).
    var accessMethods: Set<String>? { get }
    /// Runs on the event loop: synchronous, no blocking. To wait on I/O, return `.pending`.
    func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome
    /// Where the handler reads credentials from: the log entry shows those header and query
    /// values as `REDACTED` (Kong shows key-auth's keys in clear; turnpike never does).
    var credentialLocations: CredentialLocations { get }
}

extension AccessHandler {
    public var needsBody: Bool { false }
    public var accessMethods: Set<String>? { nil }
    public var credentialLocations: CredentialLocations { CredentialLocations() }
}

/// Header names and query argument names that carry credentials.
public struct CredentialLocations: Sendable, Equatable {
    public var headers: [String]
    public var query: [String]

    public init(headers: [String] = [], query: [String] = []) {
        self.headers = headers
        self.query = query
    }

    public mutating func formUnion(_ other: CredentialLocations) {
        for h in other.headers where !self.headers.contains(h) { self.headers.append(h) }
        for q in other.query where !self.query.contains(q) { self.query.append(q) }
    }
}

extension AccessContext {
    /// Sets headers on the client's response (see `responseHeaders`); the usual case, the first
    /// plugin to set any, takes the list as it is.
    /// `names`: the headers' names in order, when the caller keeps such a list (no copy made).
    public mutating func setResponseHeaders(_ headers: [(name: String, value: String)], names: [String]? = nil) {
        guard !self.responseHeaders.isEmpty else {
            self.responseHeaders = headers
            self.responseHeaderNames = names ?? headers.map(\.name)
            return
        }
        for header in headers {
            self.responseHeaders.removeAll { HeaderName.equal($0.name, header.name) }
            self.responseHeaders.append(header)
        }
        self.responseHeaderNames = self.responseHeaders.map(\.name)
    }

    /// A header's first value as the request would go upstream now: set or removed by a plugin,
    /// else as the client sent it (Kong's `kong.request.get_header` after earlier plugins'
    /// `kong.service.request.set_header`).
    public func upstreamHeader(_ name: String) -> String? {
        if let set = self.edits.set.first(where: { HeaderName.equal($0.name, name) }) { return set.value }
        if self.edits.remove.contains(where: { HeaderName.equal($0, name) }) { return nil }
        return self.request.header(name)
    }

    /// Kong's identity headers: each is set or removed, so clients cannot smuggle them.
    /// `identifier`: what `X-Credential-Identifier` says when not the credential's id (jwt's
    /// key, hmac-auth's username).
    public mutating func setConsumerHeaders(consumer: Consumer, credentialID: EntityID?, identifier: String? = nil) {
        let id = consumer.id.description
        let credential = credentialID == nil ? nil : identifier ?? credentialID?.description
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

    /// Kong's "OR" mode when authentication failed: the `anonymous` consumer (id or username) is
    /// identified instead, without a credential; Kong's 500 when no such consumer exists.
    public mutating func authenticateAnonymous(_ anonymous: String, directory: any CredentialDirectory) -> AccessOutcome
    {
        guard let consumer = directory.consumer(idOrUsername: anonymous) else {
            return .respond(
                LocalResponse(status: 500, message: "anonymous consumer \(anonymous) is configured but doesn't exist")
            )
        }
        self.setConsumerHeaders(consumer: consumer, credentialID: nil)
        return .proceed
    }

    /// The headers `setConsumerHeaders` sets or removes, in the order they go upstream.
    static let identityHeaders = [
        "X-Consumer-ID", "X-Consumer-Custom-ID", "X-Consumer-Username", "X-Credential-Identifier",
        "X-Anonymous-Consumer",
    ]
}
