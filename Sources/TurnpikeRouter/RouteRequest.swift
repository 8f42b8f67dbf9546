/// What the router looks at in a request.
///
/// `path` must already be normalised (kong/tools/uri.lua, `normalize`): the caller runs
/// `PathNormalizer.normalize` once on the path without its query, because the same bytes also feed
/// `strip_path` and `UpstreamPath.join`. The router does not normalise again.
public struct RouteRequest: Sendable {
    /// The request method as received (compared case-sensitively).
    public var method: String
    /// The Host header as received, port included; nil when absent.
    public var host: String?
    /// The local port the request arrived on; used for `h:p` hosts when Host carries no port.
    public var port: Int
    /// The normalised path.
    public var path: [UInt8]
    /// Request headers in arrival order (names as received; only the first 100 are looked at,
    /// kong/router/compat.lua). Names compare case-insensitively with `_` read as `-`.
    public var headers: [(name: String, value: String)]
    /// True for HTTPS requests (TLS terminated here).
    public var isTLS: Bool
    /// The TLS server name the client sent, if any.
    public var sni: String?

    public init(
        method: String,
        host: String?,
        port: Int,
        path: [UInt8],
        headers: [(name: String, value: String)] = [],
        isTLS: Bool = false,
        sni: String? = nil
    ) {
        self.method = method
        self.host = host
        self.port = port
        self.path = path
        self.headers = headers
        self.isTLS = isTLS
        self.sni = sni
    }

    /// Convenience for tests and tools: normalises nothing; `path` is taken as UTF-8 bytes.
    public init(
        method: String,
        host: String?,
        port: Int,
        path: String,
        headers: [(name: String, value: String)] = [],
        isTLS: Bool = false,
        sni: String? = nil
    ) {
        self.init(
            method: method,
            host: host,
            port: port,
            path: Array(path.utf8),
            headers: headers,
            isTLS: isTLS,
            sni: sni
        )
    }

    /// Header-based routing sees at most this many request headers (Kong's `lua_max_req_headers`).
    public static let maxRoutingHeaders = 100
}
