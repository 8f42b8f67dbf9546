import NIOCore
import TurnpikeModel

/// Kong's proxy-cache with the memory strategy (kong/plugins/proxy-cache/handler.lua).
/// - access: a request whose method is not cached (or, with `cache_control`, that says
///   `no-store`/`no-cache` or carries `Authorization`) is a `Bypass`; otherwise its key is
///   looked up: a fresh entry is answered from memory (`Hit`, the upstream never asked), a stale
///   one is fetched again (`Refresh`), a missing one too (`Miss`; `504` for `only-if-cached`).
/// - response: the upstream's answer is kept when its status, its one `Content-Type` and (with
///   `cache_control`) its `Cache-Control` allow it; otherwise the status becomes `Bypass`.
/// - body: a kept answer's body is copied as it streams by (the client's copy is untouched and
///   keeps its length) and stored at its end, unless it grew past what the cache may hold.
/// `X-Cache-Status`, `X-Cache-Key` and `Age` go out as `response_headers` says, always when the
/// request has a `Kong-Debug` header.
public struct ProxyCachePlugin: Plugin, AccessHandler, ResponseHandler, BodyHandler {
    public static let name = "proxy-cache"
    public static let priority = 100
    public typealias Config = ProxyCacheConfig

    public let config: ProxyCacheConfig
    let cache: ResponseCache
    let contentTypes: [MediaType]
    public var name: String { Self.name }

    public init(config: ProxyCacheConfig, stores: PluginStores) {
        self.config = config
        self.cache = stores.store("proxy-cache.memory") { ResponseCache(bytes: stores.responseCacheBytes) }
        self.contentTypes = config.contentType.compactMap(MediaType.init)
    }

    /// What access leaves for the later phases.
    struct State: Sendable {
        var status: String
        /// The key, once computed (sent as `X-Cache-Key`).
        var key: String?
        /// Set while the upstream's answer may still be stored.
        var storing: Bool
        var debug: Bool
        var now: Int64
        /// Set by the response phase for a kept answer.
        var entry: ResponseCache.Entry?
    }

    // MARK: access

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        let request = context.request
        let now = Int64(context.now)
        let debug = request.headers.contains("kong-debug")
        let cc = CacheDirectives(request.headers.values("cache-control"))
        let bypass =
            !self.config.requestMethod.contains(request.method)
            || (self.config.cacheControl
                && (cc.has("no-store") || cc.has("no-cache") || request.header("authorization") != nil))
        if bypass {
            context.plugins[plugin: Self.name]["state"] = State(
                status: "Bypass",
                storing: false,
                debug: debug,
                now: now
            )
            return .proceed
        }
        let key = CacheKey.build(
            consumer: context.authentication?.consumer.id.description,
            route: request.routeID?.description,
            method: request.method,
            uri: request.path,
            query: request.query,
            headers: request.headers,
            config: self.config
        )
        var state = State(status: "Miss", key: key, storing: true, debug: debug, now: now)
        guard let entry = self.cache.fetch(key, now: now) else {
            if self.config.cacheControl && cc.has("only-if-cached") {
                // RFC 9111 §5.2.1.7: nothing cached for a client that wants nothing else.
                var headers: [(name: String, value: String)] = []
                if self.config.sendKey || debug { headers.append(("X-Cache-Key", key)) }
                return .respond(LocalResponse(status: 504, headers: headers, body: .none))
            }
            context.plugins[plugin: Self.name]["state"] = state
            return .proceed
        }
        let age = now - entry.storedAt
        var stale: Bool
        if self.config.cacheControl {
            stale = false
            if let maxAge = cc.number("max-age"), Double(age) > maxAge { stale = true }
            if let maxStale = cc.number("max-stale"), Double(age - entry.ttl) > maxStale { stale = true }
            if let minFresh = cc.number("min-fresh"), Double(entry.ttl - age) < minFresh { stale = true }
        } else {
            // Entries may be stored longer (storage_ttl) than they are served.
            stale = age > Int64(self.config.cacheTTL)
        }
        if stale {
            state.status = "Refresh"
            context.plugins[plugin: Self.name]["state"] = state
            return .proceed
        }
        var headers = entry.headers.filter { !Self.replacedOnHit($0.name) }
        if self.config.sendAge || debug { headers.append(("Age", String(max(0, age)))) }
        if self.config.sendStatus || debug { headers.append(("X-Cache-Status", "Hit")) }
        if self.config.sendKey || debug { headers.append(("X-Cache-Key", key)) }
        return .respond(LocalResponse(status: entry.status, headers: headers, body: .bytes(entry.body)))
    }

    /// Headers a hit does not replay: the cache's own, and any rate-limit count (this request's
    /// are added by the rate-limiting plugins).
    static func replacedOnHit(_ name: String) -> Bool {
        HeaderName.equal(name, "age") || HeaderName.equal(name, "x-cache-status")
            || HeaderName.equal(name, "x-cache-key") || name.lowercased().contains("ratelimit-remaining")
    }

    /// Never stored: hop-by-hop headers and the length (Kong's list), and what the gateway
    /// writes itself on every answer (Date, Server, Via).
    static let notStored: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
        "transfer-encoding", "upgrade", "content-length", "date", "server", "via",
    ]

    // MARK: response

    public func response(_ context: inout ResponseContext) {
        guard var state = context.plugins.value("state", of: Self.name, as: State.self) else { return }
        if state.storing {
            if let ttl = self.cacheableTTL(context, now: state.now) {
                let storageTTL = Int64(self.config.storageTTL ?? Int(ttl))
                state.entry = ResponseCache.Entry(
                    status: context.status,
                    headers: context.headers.pairs.filter { !Self.notStored.contains($0.name.lowercased()) },
                    body: [],
                    storedAt: state.now,
                    ttl: ttl,
                    expiresAt: state.now + storageTTL
                )
            } else {
                state.status = "Bypass"
                state.storing = false
            }
            context.plugins[plugin: Self.name]["state"] = state
        }
        if self.config.sendStatus || state.debug { context.setHeader("X-Cache-Status", state.status) }
        if let key = state.key, self.config.sendKey || state.debug { context.setHeader("X-Cache-Key", key) }
    }

    /// The freshness lifetime of a response that may be stored (Kong's `cacheable_response` and
    /// `calculate_resource_ttl`); nil when it may not.
    func cacheableTTL(_ context: ResponseContext, now: Int64) -> Int64? {
        guard self.config.responseCode.contains(context.status) else { return nil }
        let types = context.headers.values("content-type")
        guard types.count == 1, !types[0].isEmpty, let type = MediaType(types[0]),
            self.contentTypes.contains(where: { $0.accepts(type) })
        else { return nil }
        guard self.config.cacheControl else { return Int64(self.config.cacheTTL) }
        let cc = CacheDirectives(context.headers.values("cache-control"))
        if cc.has("private") || cc.has("no-store") || cc.has("no-cache") { return nil }
        var lifetime: Double?
        if let v = cc.number("s-maxage") ?? cc.number("max-age") {
            lifetime = v
        } else if let expires = context.headers.values("expires").last, let at = HTTPDate.parse(expires) {
            lifetime = Double(at - now)
        }
        guard let lifetime, lifetime > 0 else { return nil }
        // The upstream's number, bounded (about 68 years): never a trap, never an overflow.
        return Int64(min(lifetime, Double(Int32.max)))
    }

    // MARK: body

    public func bodyFilter(for response: ResponseContext) -> (any BodyFilter)? {
        guard let state = response.plugins.value("state", of: Self.name, as: State.self), state.storing,
            let key = state.key, let entry = state.entry
        else { return nil }
        return Capture(cache: self.cache, key: key, entry: entry)
    }

    /// Copies a kept answer's body as it passes and stores it at the end (nothing if it grew
    /// past what the cache may hold, or the response was cut).
    final class Capture: BodyFilter {
        let cache: ResponseCache
        let key: String
        var entry: ResponseCache.Entry
        var overflow = false

        init(cache: ResponseCache, key: String, entry: ResponseCache.Entry) {
            self.cache = cache
            self.key = key
            self.entry = entry
        }

        var observesOnly: Bool { true }

        func filter(_ chunk: ByteBuffer, last: Bool) -> ByteBuffer {
            if !self.overflow {
                if self.entry.body.count + chunk.readableBytes > self.cache.maxEntryBytes {
                    self.overflow = true
                    self.entry.body = []
                } else {
                    self.entry.body += chunk.readableBytesView
                }
            }
            if last && !self.overflow { self.cache.store(self.key, self.entry) }
            return chunk
        }
    }
}
