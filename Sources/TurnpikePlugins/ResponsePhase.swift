public import TurnpikeModel

/// The response phase (Kong's `header_filter`): the status and headers about to go to the client,
/// whether the upstream answered or the gateway did (an access-phase 401, a 502, …). Handlers read
/// the headers and change them; the body streams through untouched (see `BodyHandler`).
public struct ResponseContext: Sendable {
    public let status: Int
    public let requestID: RequestID
    /// The consumer the access phase identified, if any.
    public let consumer: Consumer?
    /// The headers as they came (the upstream's, or the gateway's own), before the edits below.
    public let headers: HeaderFields
    /// The headers the gateway adds to this answer (Via, Server, X-Kong-*): Kong sets them before
    /// its plugins' header_filter, so `header` and `originalValues` read them with the others.
    public let gateway: GatewayHeaders
    /// The request's header fields as the client sent them (Kong's `kong.request.get_header` in
    /// header_filter).
    public let requestHeaders: HeaderFields
    /// Kong's `kong.ctx`, as the access phase left it.
    public var plugins: PluginContext
    /// What the handlers changed in the headers (all the writer needs of this context).
    public private(set) var headerEdits = ResponseHeaderEdits()
    public var remove: [String] { self.headerEdits.remove }
    public var set: [(name: String, value: String)] { self.headerEdits.set }
    public var add: [(name: String, value: String)] { self.headerEdits.add }

    public init(
        status: Int,
        requestID: RequestID,
        consumer: Consumer?,
        headers: HeaderFields = HeaderFields(),
        requestHeaders: HeaderFields = HeaderFields(),
        gateway: GatewayHeaders = GatewayHeaders(),
        plugins: PluginContext = PluginContext()
    ) {
        self.gateway = gateway
        self.status = status
        self.requestID = requestID
        self.consumer = consumer
        self.headers = headers
        self.requestHeaders = requestHeaders
        self.plugins = plugins
    }

    /// Replaces the header sent to the client (a later handler's value wins); nil removes it
    /// (Kong's `kong.response.set_header` / `clear_header`).
    public mutating func setHeader(_ name: String, _ value: String?) {
        self.headerEdits.add.removeAll { HeaderName.equal($0.name, name) }
        HeaderEdits.set(name, value, remove: &self.headerEdits.remove, set: &self.headerEdits.set)
    }

    /// `setHeader` for each pair, in order (names distinct); the usual case, the first handler to
    /// edit headers, takes the list as it is instead of comparing names (and `names`, the pairs'
    /// names in order, when the caller keeps that list).
    public mutating func setHeaders(_ headers: [(name: String, value: String)], names: [String]? = nil) {
        guard self.set.isEmpty && self.remove.isEmpty && self.add.isEmpty else {
            for (name, value) in headers { self.setHeader(name, value) }
            return
        }
        self.headerEdits.remove = names ?? headers.map(\.name)
        self.headerEdits.set = headers
    }

    /// Adds one more line of the header, keeping the others (Kong's `kong.response.add_header`,
    /// as cors adds `Vary: Origin`).
    public mutating func addHeader(_ name: String, _ value: String) {
        self.headerEdits.add.append((name, value))
    }

    /// `addHeader` for each pair, in order (the list is taken as it is when nothing was added).
    public mutating func addHeaders(_ headers: [(name: String, value: String)]) {
        if self.add.isEmpty { self.headerEdits.add = headers } else { self.headerEdits.add += headers }
    }

    /// Whether a header from the upstream or the gateway is dropped or replaced.
    public func removes(_ name: String) -> Bool {
        self.headerEdits.removes(name)
    }

    /// The header's first value as it will go out, edits included.
    public func header(_ name: String) -> String? {
        if let set = self.set.first(where: { HeaderName.equal($0.name, name) }) { return set.value }
        if !self.removes(name),
            let original = self.gateway.value(name, upstream: self.headers) ?? self.headers.first(name)
        {
            return original
        }
        return self.add.first { HeaderName.equal($0.name, name) }?.value
    }

    /// Every line of `name` on the answer before any edit: the gateway's value for a header it
    /// writes, else the upstream's (or the local answer's) lines.
    public func originalValues(_ name: String) -> [String] {
        if let value = self.gateway.value(name, upstream: self.headers) { return [value] }
        return self.headers.values(name)
    }

    /// Set by `exit`: the status the client gets instead, with no body.
    public private(set) var exitStatus: Int?

    /// Kong's `kong.response.exit(status)` in header_filter: the client gets `status` with the
    /// headers as edited and an empty body (the upstream's body is read and dropped).
    public mutating func exit(status: Int) {
        self.exitStatus = status
    }

    /// Whether any handler changed a header.
    public var hasEdits: Bool { !self.remove.isEmpty || !self.add.isEmpty }
}

/// The header lines the gateway writes on an answer after its response phase, as values (strings
/// made only when a handler reads one). A handler's removal or replacement of one of these names
/// replaces the gateway's line, as in Kong.
public struct GatewayHeaders: Sendable {
    /// The gateway's own Via entry (`1.1 turnpike/<version>`); the upstream's Via goes in front.
    public var via: String?
    /// Written when the upstream sent no Server (always on the gateway's own answers).
    public var server: String?
    public var upstreamLatencyMs: Int64?
    public var proxyLatencyMs: Int64?
    /// On the gateway's own answers.
    public var responseLatencyMs: Int64?
    public var requestID: RequestID?

    public init(
        via: String? = nil,
        server: String? = nil,
        upstreamLatencyMs: Int64? = nil,
        proxyLatencyMs: Int64? = nil,
        responseLatencyMs: Int64? = nil,
        requestID: RequestID? = nil
    ) {
        self.via = via
        self.server = server
        self.upstreamLatencyMs = upstreamLatencyMs
        self.proxyLatencyMs = proxyLatencyMs
        self.responseLatencyMs = responseLatencyMs
        self.requestID = requestID
    }

    /// The value the gateway gives `name` on this answer; nil for a header it does not write.
    /// `upstream`: the answer's own headers (their Via goes in front; their Server wins).
    public func value(_ name: String, upstream: HeaderFields) -> String? {
        switch name.utf8.count {
        case 3 where HeaderName.equal(name, "via"):
            guard let via = self.via else { return nil }
            let theirs = upstream.values("via")
            return theirs.isEmpty ? via : theirs.joined(separator: ", ") + ", " + via
        case 6 where HeaderName.equal(name, "server"):
            guard let server = self.server, !upstream.contains("server") else { return nil }
            return server
        case 17 where HeaderName.equal(name, "x-kong-request-id"):
            return self.requestID?.description
        case 20 where HeaderName.equal(name, "x-kong-proxy-latency"):
            return self.proxyLatencyMs.map { String($0) }
        case 23 where HeaderName.equal(name, "x-kong-upstream-latency"):
            return self.upstreamLatencyMs.map { String($0) }
        case 23 where HeaderName.equal(name, "x-kong-response-latency"):
            return self.responseLatencyMs.map { String($0) }
        default:
            return nil
        }
    }
}

/// Header edits of the response phase: names removed (case-insensitive), then `set` written
/// (replacing), then `add`.
public struct ResponseHeaderEdits: Sendable {
    public internal(set) var remove: [String] = []
    public internal(set) var set: [(name: String, value: String)] = []
    public internal(set) var add: [(name: String, value: String)] = []

    public init() {}

    /// Whether a header from the upstream or the gateway is dropped or replaced.
    public func removes(_ name: String) -> Bool {
        self.remove.contains { HeaderName.equal($0, name) }
    }
}

public protocol ResponseHandler: Sendable {
    var name: String { get }
    func response(_ context: inout ResponseContext)
}

/// Header edits shared by the request and response sides: replacing means removing every line of
/// the name, then writing the new one.
enum HeaderEdits {
    static func set(
        _ name: String,
        _ value: String?,
        remove: inout [String],
        set: inout [(name: String, value: String)]
    ) {
        if let i = set.firstIndex(where: { HeaderName.equal($0.name, name) }) { set.remove(at: i) }
        if !remove.contains(where: { HeaderName.equal($0, name) }) { remove.append(name) }
        if let value { set.append((name, value)) }
    }
}
