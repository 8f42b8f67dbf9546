public import TurnpikeModel

/// What the proxy needs about a matched route, computed once per snapshot: one reference per
/// request instead of copying the `Route` and `Service` entities (dozens of reference counts).
public final class RoutePlan: Sendable {
    public let routeIndex: Int
    public let stripPath: Bool
    public let preserveHost: Bool
    /// False for routes whose protocols do not include `http` (they answer 426 or redirect).
    public let acceptsHTTP: Bool
    public let httpsRedirectStatusCode: Int
    /// Nil when the route has no service (503).
    public let service: ServicePlan?

    init(routeIndex: Int, route: Route, service: ServicePlan?) {
        self.routeIndex = routeIndex
        self.stripPath = route.stripPath
        self.preserveHost = route.preserveHost
        self.acceptsHTTP = route.protocols.contains(.http)
        self.httpsRedirectStatusCode = route.httpsRedirectStatusCode
        self.service = service
    }
}

/// A service as the proxy uses it.
public final class ServicePlan: Sendable {
    public let id: EntityID
    public let host: String
    public let port: Int
    /// The service `path` as bytes (nil: none).
    public let path: [UInt8]?
    public let connectTimeout: Int
    public let readTimeout: Int
    public let writeTimeout: Int
    public let retries: Int
    /// Set when `host` names an upstream: requests are balanced over its targets.
    public let balancer: RoundRobin?
    /// The upstream's `host_header`, when set.
    public let upstreamHostHeader: String?
    /// `Host` sent upstream for a non-balanced service without `host_header` (`host`, or
    /// `host:port` unless the port is the protocol's default).
    public let hostHeader: String
    /// The port that goes without saying in `Host`: 80 for http (443 for https).
    public let defaultPort: Int
    /// How to speak TLS to the targets (`protocol: https`); nil for plain HTTP.
    public let tls: UpstreamTLS?

    /// `caCertificates`: the PEM text of the service's `ca_certificates`, in its order.
    init(
        service: Service,
        balancer: RoundRobin?,
        upstreamHostHeader: String?,
        caCertificates: [String]? = nil,
        clientCertificate: TLSCertificate? = nil
    ) {
        self.id = service.id
        self.host = service.host
        self.port = service.port
        self.path = service.path.map { Array($0.utf8) }
        self.connectTimeout = service.connectTimeout
        self.readTimeout = service.readTimeout
        self.writeTimeout = service.writeTimeout
        self.retries = service.retries
        self.balancer = balancer
        self.upstreamHostHeader = upstreamHostHeader
        self.defaultPort = service.protocol == .https ? 443 : 80
        self.tls =
            service.protocol == .https
            ? UpstreamTLS(
                verify: service.tlsVerify ?? false,
                verifyDepth: service.tlsVerifyDepth,
                trust: caCertificates,
                clientCertificate: clientCertificate.map { UpstreamTLS.ClientCertificate(chain: $0.cert, key: $0.key) }
            ) : nil
        let host = service.host.contains(":") ? "[\(service.host)]" : service.host
        self.hostHeader = service.port == self.defaultPort ? host : "\(host):\(service.port)"
    }

    /// The `Host` sent to the target `host:port` when the route does not preserve the client's:
    /// the upstream's `host_header`, else the target's host name (the service's own for a service
    /// that is not balanced), with `:port` unless it is the protocol's default
    /// (kong/runloop/balancer/init.lua, `set_host_header`).
    public func upstreamHost(targetHost: String, targetPort: Int) -> String {
        let name: String
        if let header = self.upstreamHostHeader {
            name = header
        } else if self.balancer == nil {
            return self.hostHeader
        } else {
            name = targetHost.contains(":") ? "[\(targetHost)]" : targetHost
        }
        return targetPort == self.defaultPort ? name : "\(name):\(targetPort)"
    }
}

/// A service's TLS settings towards its targets (Kong's service `tls_verify`), resolved when the
/// snapshot is built. Two services with equal settings can share a pooled connection to the same
/// target and server name; with different settings they never do.
public struct UpstreamTLS: Hashable, Sendable, CustomStringConvertible {
    /// Verify the target's certificate and name (Kong: `tls_verify`, unset meaning nginx's
    /// `proxy_ssl_verify off`).
    public var verify: Bool
    /// The most intermediate CAs a verified chain may have (Kong's `tls_verify_depth`; nil:
    /// nginx's default, 1).
    public var verifyDepth: Int?
    /// The CA certificates (PEM) trusted when verifying: the service's `ca_certificates`; nil for
    /// the system's trust store.
    public var trust: [String]?
    /// The certificate presented to the targets (the service's `client_certificate`: mTLS).
    public var clientCertificate: ClientCertificate?

    /// A PEM chain and its PEM key; the key never shows in a description.
    public struct ClientCertificate: Hashable, Sendable {
        public var chain: String
        public var key: String
    }

    public init(
        verify: Bool,
        verifyDepth: Int? = nil,
        trust: [String]? = nil,
        clientCertificate: ClientCertificate? = nil
    ) {
        self.verify = verify
        self.verifyDepth = verifyDepth
        self.trust = trust
        self.clientCertificate = clientCertificate
    }

    public var description: String {
        "verify=\(self.verify) depth=\(self.verifyDepth.map(String.init) ?? "default") trust=\(self.trust.map { "\($0.count) CA" } ?? "system")"
            + (self.clientCertificate == nil ? "" : " client-certificate")
    }

    /// The server name sent to a target (Kong's `proxy_ssl_name $upstream_host`): the `Host`
    /// sent upstream without its port; nil when that is an IP address (no SNI then).
    public static func serverName(forHost host: String) -> String? {
        var name = Substring(host)
        if name.hasPrefix("[") { return nil }  // an IPv6 literal
        if let colon = name.lastIndex(of: ":") { name = name[..<colon] }
        if name.isEmpty { return nil }
        let isIPv4 =
            name.split(separator: ".", omittingEmptySubsequences: false).count == 4
            && name.allSatisfy { $0 == "." || $0.isASCII && $0.isNumber }
        return isIPv4 ? nil : String(name)
    }
}
