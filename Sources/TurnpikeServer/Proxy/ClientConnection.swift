import Logging
import NIOCore
import TurnpikeEngine
import TurnpikeModel
import TurnpikePlugins
import TurnpikeRouter

/// What every request of one client connection shares: the loop's snapshot slot, upstream pool,
/// balancer cursors, date cache and counters, the proxy's configuration, and the connection's
/// own addresses. Made once per connection, on its loop; read by each `RequestPipeline`.
final class ClientConnection {
    let slot: NIOLoopBoundBox<Snapshot>
    let pool: UpstreamPool
    let balancerCursors: BalancerCursors
    let dates: HTTPDateCache
    let logEntities: LogEntityCache
    let counters: ProxyStatistics.Counters
    let configuration: ProxyConfiguration
    let logger: Logger
    /// `1.1 turnpike/<version>`, the proxy's `Via` entry for HTTP/1.1.
    let via: String
    /// The connection came through a TLS listener (`https`), and the server name its handshake
    /// asked for (nil without SNI, and on plain listeners).
    let isTLS: Bool
    var sni: String?
    var clientAddress = "unknown"
    var localPort = 0
    var localPortText = "0"
    /// The listener's address (nginx's `$server_addr`), and this connection's serial number on its
    /// loop and request count (nginx's `$connection` and `$connection_requests`): for
    /// correlation-id's `tracker`.
    var localAddress = ""
    var serial = 0
    var requests = 0
    /// Request ids, from a generator seeded once per connection.
    var requestIDs = RequestIDGenerator()
    /// The route matcher's candidate lists and the upstream request head's bytes, reused from
    /// request to request (no allocation per request once the connection has warmed up).
    var routeScratch = RouteScratch()
    var upstreamHeadBuffer = ByteBuffer()
    /// The last Host this connection sent and its `X-Forwarded-Host`: a keep-alive client sends
    /// the same Host request after request.
    private var lastForwardedHost: (host: String, forwarded: String)?

    init(
        slot: NIOLoopBoundBox<Snapshot>,
        pool: UpstreamPool,
        balancerCursors: BalancerCursors,
        dates: HTTPDateCache,
        counters: ProxyStatistics.Counters,
        configuration: ProxyConfiguration,
        logger: Logger,
        isTLS: Bool = false,
        logEntities: LogEntityCache = LogEntityCache()
    ) {
        self.logEntities = logEntities
        self.isTLS = isTLS
        self.slot = slot
        self.pool = pool
        self.balancerCursors = balancerCursors
        self.dates = dates
        self.counters = counters
        self.configuration = configuration
        self.logger = logger
        self.via = "1.1 " + configuration.serverToken
    }

    /// Notes the connection's addresses (at channel setup).
    func bind(to channel: any Channel) {
        if let remote = channel.remoteAddress { self.clientAddress = remote.ipAddress ?? "unknown" }
        self.localPort = channel.localAddress?.port ?? 0
        self.localPortText = String(self.localPort)
        self.localAddress = channel.localAddress?.ipAddress ?? ""
    }

    /// `X-Forwarded-Host` for a request's Host, remembered for the next request.
    func forwardedHost(_ host: String?) -> String {
        guard let host else { return "" }
        if let last = self.lastForwardedHost, last.host == host { return last.forwarded }
        let forwarded = Self.forwardedHost(host)
        self.lastForwardedHost = (host, forwarded)
        return forwarded
    }

    /// `X-Forwarded-Host`: the Host header without port, lower-cased (no copy when already so).
    static func forwardedHost(_ host: String) -> String {
        let name = Self.hostWithoutPort(host)
        return name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) ? name.lowercased() : name
    }

    static func hostWithoutPort(_ host: String) -> String {
        let bytes = host.utf8
        if bytes.first == UInt8(ascii: "[") {
            if let close = bytes.firstIndex(of: UInt8(ascii: "]")) { return String(host[...close]) }
            return host
        }
        if let colon = bytes.lastIndex(of: UInt8(ascii: ":")),
            bytes[bytes.index(after: colon)...].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        {
            return String(host[..<colon])
        }
        return host
    }
}

/// 32 lowercase hex characters per request, from a per-connection generator seeded once from the
/// system (no system call per request).
struct RequestIDGenerator {
    private var state: (UInt64, UInt64)

    init() {
        var system = SystemRandomNumberGenerator()
        self.state = (system.next() | 1, system.next() | 1)
    }

    mutating func nextWord() -> UInt64 {
        // xorshift128+
        var s1 = self.state.0
        let s0 = self.state.1
        self.state.0 = s0
        s1 ^= s1 << 23
        self.state.1 = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26)
        return self.state.1 &+ s0
    }

    mutating func next() -> RequestID {
        RequestID(high: self.nextWord(), low: self.nextWord())
    }
}

/// Round-robin cursors of one event loop, by upstream name. They live outside snapshots so a
/// reload does not reset them (an upstream whose slots changed just continues modulo the new size).
/// The route, service and consumer renders log entries carry, made once per loop and snapshot
/// (rendering an entity for every request is most of an entry's cost). Loop-confined.
final class LogEntityCache {
    enum Kind { case route, service, consumer }
    struct Key: Hashable {
        let kind: Kind
        let id: EntityID
    }

    /// Held, not just identified: a freed snapshot's address may be reused by the next one.
    private var snapshot: Snapshot?
    private var rendered: [Key: [UInt8]] = [:]

    /// The entity written as JSON (cjson's bytes).
    func entity(_ kind: Kind, _ id: EntityID, in snapshot: Snapshot, _ render: () -> Rendered?) -> [UInt8]? {
        if self.snapshot !== snapshot {
            self.snapshot = snapshot
            self.rendered = [:]
        }
        let key = Key(kind: kind, id: id)
        if let cached = self.rendered[key] { return cached }
        guard let value = render().map(CJSON.encode) else { return nil }
        // Bounded: a loop that saw every route of a huge config starts over.
        if self.rendered.count >= 10_000 { self.rendered = [:] }
        self.rendered[key] = value
        return value
    }
}

final class BalancerCursors {
    private var cursors: [String: Int] = [:]

    func next(in balancer: RoundRobin, upstream: String) -> RoundRobin.Peer? {
        guard !balancer.slots.isEmpty else { return nil }
        let i = self.cursors[upstream, default: Int.random(in: 0..<balancer.slots.count)]
        self.cursors[upstream] = (i + 1) % balancer.slots.count
        return balancer.slots[i % balancer.slots.count]
    }
}

/// Kong's latency headers and log fields count whole milliseconds.
enum Latency {
    static func milliseconds(from start: NIODeadline, to end: NIODeadline) -> Int64 {
        (end - start).nanoseconds / 1_000_000
    }
}
