public import TurnpikeModel

/// What Kong's serializer reports of a finished request (kong/pdk/log.lua `serialize`), as the
/// pipeline knows it; `KongLogSerializer` turns it into Kong's entry.
public struct LogFacts: Sendable {
    public var requestID: RequestID
    public var method: String
    /// The request target as the client sent it (path and query).
    public var rawURI: String
    public var scheme: String
    /// The Host without its port, lower-cased.
    public var host: String
    /// The listener's port.
    public var port: Int
    /// The query as it went upstream (after plugins' edits); nil: none.
    public var query: Substring?
    /// The request's headers as they went upstream (after plugins' edits), in order.
    public var requestHeaders: [(name: String, value: String)]
    /// Bytes of the request line, headers and body as received.
    public var requestSize: Int
    /// `TLSv1.3` and the cipher's name, on a TLS listener.
    public var tls: (version: String, cipher: String)?
    /// The path and query sent upstream; empty when no route matched.
    public var upstreamURI: String
    /// The upstream's status (`"502, 200"` after retries); empty when the gateway answered.
    public var upstreamStatus: String
    public var status: Int
    /// The response's headers as they went out, in order.
    public var responseHeaders: [(name: String, value: String)]
    /// Bytes sent to the client (status line, headers and body).
    public var responseSize: Int
    /// Kong's latencies in milliseconds: the gateway's share, the upstream's (-1: not proxied),
    /// the whole request, and the time reading the upstream's response.
    public var kongLatencyMs: Int64
    public var proxyLatencyMs: Int64
    public var requestLatencyMs: Int64
    public var receiveLatencyMs: Int64
    /// Each upstream attempt; nil when no route matched (no balancer ran).
    public var tries: [Try]?
    public var credentialID: EntityID?
    /// The matched route and service, and the consumer, as the admin API shows them, already
    /// written as JSON (made once per snapshot and loop, not per request).
    public var route: [UInt8]?
    public var service: [UInt8]?
    public var consumer: [UInt8]?
    public var clientIP: String
    /// Unix time in milliseconds when the request started.
    public var startedAtMs: Int64
    /// Whether the upstream answered (Kong's source `upstream`; else `kong`).
    public var proxied: Bool
    /// Values plugins add (Kong's `kong.log.set_serialize_value`: correlation-id's
    /// `correlation_id`), in order; a later one of the same name replaces an earlier one.
    public var extra: [(String, Rendered)] = []
    /// Headers and query arguments that carry credentials (the route's auth plugins'): shown as
    /// `REDACTED`, as Kong shows `Authorization`.
    public var credentialLocations = CredentialLocations()

    public struct Try: Sendable {
        public var startMs: Int64
        public var ip: String
        public var port: Int
        public var latencyMs: Int64
        /// `failed` or `next` for an attempt that did not answer, with its status.
        public var state: String?
        public var code: Int?

        public init(startMs: Int64, ip: String, port: Int, latencyMs: Int64, state: String? = nil, code: Int? = nil) {
            self.startMs = startMs
            self.ip = ip
            self.port = port
            self.latencyMs = latencyMs
            self.state = state
            self.code = code
        }
    }

    public init(
        requestID: RequestID,
        method: String,
        rawURI: String,
        scheme: String,
        host: String,
        port: Int,
        query: Substring?,
        requestHeaders: [(name: String, value: String)],
        requestSize: Int,
        status: Int,
        responseHeaders: [(name: String, value: String)],
        responseSize: Int,
        clientIP: String,
        startedAtMs: Int64
    ) {
        self.requestID = requestID
        self.method = method
        self.rawURI = rawURI
        self.scheme = scheme
        self.host = host
        self.port = port
        self.query = query
        self.requestHeaders = requestHeaders
        self.requestSize = requestSize
        self.upstreamURI = ""
        self.upstreamStatus = ""
        self.status = status
        self.responseHeaders = responseHeaders
        self.responseSize = responseSize
        self.kongLatencyMs = 0
        self.proxyLatencyMs = -1
        self.requestLatencyMs = 0
        self.receiveLatencyMs = 0
        self.clientIP = clientIP
        self.startedAtMs = startedAtMs
        self.proxied = false
    }
}

/// Kong's log entry (kong/pdk/log.lua `serialize`, HTTP): one JSON object per request, written as
/// cjson writes it (see `CJSON`). The request's `Authorization` and `Proxy-Authorization` read
/// `REDACTED`, as in Kong; headers by lower-case name, repeats as arrays, at most 100 (Kong's
/// `lua_max_req_headers`); the query decoded, at most 100 arguments, a bare name as `true`.
/// Keys go in a fixed order (Kong's follow Lua's hash order).
public enum KongLogSerializer {
    /// Kong's default workspace in DB-less mode.
    public static let workspaceID = "0dc6f45b-8f8d-40d2-a504-473544ee190b"
    static let maxHeaders = 100
    static let maxArguments = 100

    /// The entry's fields in order; `route`, `service` and `consumer` stand as null here, and
    /// `line` writes their JSON in their place.
    static func entry(_ f: LogFacts) -> [(String, Rendered)] {
        let uri = Self.redactingQuery(f.rawURI, f.credentialLocations.query)
        var request: [(String, Rendered)] = [
            ("id", .string(f.requestID.description)),
            ("uri", .string(uri)),
            ("url", .string("\(f.scheme)://\(f.host):\(f.port)\(uri)")),
            ("querystring", Self.querystring(f.query, redacting: f.credentialLocations.query)),
            ("method", .string(f.method)),
            ("headers", Self.headers(f.requestHeaders, redacting: f.credentialLocations.headers)),
            ("size", .integer(f.requestSize)),
        ]
        if let tls = f.tls {
            request.append(
                (
                    "tls",
                    .object([
                        ("version", .string(tls.version)), ("cipher", .string(tls.cipher)),
                        ("client_verify", .string("NONE")),
                    ])
                )
            )
        }
        var fields: [(String, Rendered)] = [
            ("request", .object(request)),
            ("upstream_uri", .string(Self.redactingQuery(f.upstreamURI, f.credentialLocations.query))),
            ("upstream_status", .string(f.upstreamStatus)),
            (
                "response",
                .object([
                    ("status", .integer(f.status)),
                    ("headers", Self.headers(f.responseHeaders, redacting: nil)),
                    ("size", .integer(f.responseSize)),
                ])
            ),
            (
                "latencies",
                .object([
                    ("kong", .integer(Int(f.kongLatencyMs))),
                    ("proxy", .integer(Int(f.proxyLatencyMs))),
                    ("request", .integer(Int(f.requestLatencyMs))),
                    ("receive", .integer(Int(f.receiveLatencyMs))),
                ])
            ),
        ]
        if let tries = f.tries { fields.append(("tries", .array(tries.map(Self.try)))) }
        if let credential = f.credentialID {
            fields.append(("authenticated_entity", .object([("id", .id(credential))])))
        }
        if f.route != nil { fields.append(("route", .null)) }
        if f.service != nil { fields.append(("service", .null)) }
        if f.consumer != nil { fields.append(("consumer", .null)) }
        fields += [
            ("client_ip", .string(f.clientIP)),
            ("started_at", .integer(Int(f.startedAtMs))),
            ("source", .string(f.proxied ? "upstream" : "kong")),
            ("workspace", .string(Self.workspaceID)),
            ("workspace_name", .string("default")),
        ]
        for (name, value) in f.extra {
            if let i = fields.firstIndex(where: { $0.0 == name }) {
                fields[i].1 = value
            } else {
                fields.append((name, value))
            }
        }
        return fields
    }

    /// A target with the values of the query arguments in `names` replaced by `REDACTED` (the
    /// rest as it came).
    static func redactingQuery(_ target: String, _ names: [String]) -> String {
        guard !names.isEmpty, let mark = target.firstIndex(of: "?") else { return target }
        let query = target[target.index(after: mark)...]
        let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { part -> Substring in
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, names.contains(QueryString.decode(kv[0])) else { return part }
            return kv[0] + "=REDACTED"
        }
        return String(target[...mark]) + parts.joined(separator: "&")
    }

    /// The entry as one line of JSON (cjson's bytes).
    public static func line(_ facts: LogFacts) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(2048)
        for (i, (name, value)) in Self.entry(facts).enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            CJSON.string(name, into: &out)
            out.append(UInt8(ascii: ":"))
            switch name {
            case "route" where facts.route != nil: out += facts.route!
            case "service" where facts.service != nil: out += facts.service!
            case "consumer" where facts.consumer != nil: out += facts.consumer!
            default: CJSON.write(value, into: &out)
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    static func `try`(_ t: LogFacts.Try) -> Rendered {
        var fields: [(String, Rendered)] = [
            ("balancer_start", .integer(Int(t.startMs))),
            ("balancer_start_ns", .number(Double(t.startMs) * 1_000_000)),
            ("ip", .string(t.ip)),
            ("port", .integer(t.port)),
            ("balancer_latency", .integer(Int(t.latencyMs))),
            ("balancer_latency_ns", .number(Double(t.latencyMs) * 1_000_000)),
        ]
        if let state = t.state { fields.append(("state", .string(state))) }
        if let code = t.code { fields.append(("code", .integer(code))) }
        return .object(fields)
    }

    /// `ngx.req.get_headers()` / `ngx.resp.get_headers()`: lower-case names in first-seen
    /// order, a repeated header as an array.
    /// `redacting`: request headers (nil for the response's): `authorization` and
    /// `proxy-authorization`, as Kong, and these names (compared as Kong's `get_header` does).
    static func headers(_ list: [(name: String, value: String)], redacting: [String]?) -> Rendered {
        let grouped = QueryString.group(list.prefix(Self.maxHeaders).map { ($0.name.lowercased(), $0.value) })
        return .object(
            grouped.map { name, values in
                if let extra = redacting,
                    name == "authorization" || name == "proxy-authorization"
                        || extra.contains(where: { HeaderName.lookupEqual($0, name) })
                {
                    return (name, .string("REDACTED"))
                }
                let each = values.map { Rendered.string($0 ?? "") }
                return (name, each.count == 1 ? each[0] : .array(each))
            }
        )
    }

    /// `kong.request.get_query()`: the first 100 arguments, decoded, `true` for a bare name,
    /// repeats as arrays, empty names skipped.
    static func querystring(_ query: Substring?, redacting: [String] = []) -> Rendered {
        guard let query, !query.isEmpty else { return .object([]) }
        let first = QueryString.arguments(query).filter { !$0.0.isEmpty }.prefix(Self.maxArguments)
        return .object(
            QueryString.group(Array(first)).map { name, values in
                if redacting.contains(name) { return (name, .string("REDACTED")) }
                let each = values.map { $0.map(Rendered.string) ?? .bool(true) }
                return (name, each.count == 1 ? each[0] : .array(each))
            }
        )
    }
}
