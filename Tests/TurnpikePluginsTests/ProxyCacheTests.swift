import NIOCore
import Testing
import TurnpikeModel

@testable import TurnpikePlugins

/// proxy-cache's store (bytes bound, LRU, expiry) and key (kong/plugins/proxy-cache/cache_key.lua).
@Suite struct ResponseCacheTests {
    static func entry(_ bytes: Int, at now: Int64 = 0, ttl: Int64 = 60) -> ResponseCache.Entry {
        .init(
            status: 200,
            headers: [],
            body: [UInt8](repeating: 1, count: bytes),
            storedAt: now,
            ttl: ttl,
            expiresAt: now + ttl
        )
    }

    @Test func leastRecentlyUsedGoFirstWithinTheBytes() {
        // One shard of 1,000 bytes: entries cost their body plus bookkeeping (160).
        let cache = ResponseCache(bytes: 1000, shards: 1)
        #expect(cache.store("a", Self.entry(200)))
        #expect(cache.store("b", Self.entry(200)))
        _ = cache.fetch("a", now: 1)  // a is now the most recent
        #expect(cache.store("c", Self.entry(200)))  // 3 x 360 > 1000: b goes
        #expect(cache.fetch("b", now: 1) == nil)
        #expect(cache.fetch("a", now: 1) != nil)
        #expect(cache.fetch("c", now: 1) != nil)
        #expect(cache.usage.bytes <= 1000)
        // Larger than the whole shard: never stored, nothing evicted for it.
        #expect(!cache.store("huge", Self.entry(2000)))
        #expect(cache.usage.entries == 2)
    }

    @Test func expiredEntriesAreGone() {
        let cache = ResponseCache(bytes: 10_000, shards: 2)
        cache.store("k", Self.entry(10, at: 100, ttl: 5))
        #expect(cache.fetch("k", now: 104)?.body.count == 10)
        #expect(cache.fetch("k", now: 105) == nil)
        #expect(cache.usage.entries == 0)
    }

    @Test func aStoreReplaces() {
        let cache = ResponseCache(bytes: 10_000, shards: 1)
        cache.store("k", Self.entry(10))
        cache.store("k", Self.entry(20))
        #expect(cache.fetch("k", now: 0)?.body.count == 20)
        #expect(cache.usage.entries == 1)
    }
}

@Suite struct CacheKeyTests {
    static func key(
        consumer: String? = nil,
        route: String? = "r1",
        method: String = "GET",
        path: Substring = "/a",
        query: Substring? = nil,
        headers: [(name: String, value: String)] = [],
        configure: (inout ProxyCacheConfig) -> Void = { _ in }
    ) -> String {
        var config = ProxyCacheConfig()
        configure(&config)
        return CacheKey.build(
            consumer: consumer,
            route: route,
            method: method,
            uri: path,
            query: query,
            headers: HeaderFields(headers),
            config: config
        )
    }

    @Test func whatTellsEntriesApart() {
        let base = Self.key()
        #expect(base.count == 64 && base.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(Self.key() == base)
        #expect(Self.key(consumer: "c1") != base)
        #expect(Self.key(route: "r2") != base)
        #expect(Self.key(method: "HEAD") != base)
        #expect(Self.key(path: "/A") != base)
        #expect(Self.key(path: "/A") { $0.ignoreURICase = true } == base)
        // Query arguments: order does not matter; repeats are sorted; a bare name is its own.
        #expect(Self.key(query: "b=2&a=1") == Self.key(query: "a=1&b=2"))
        #expect(Self.key(query: "a=2&a=1") == Self.key(query: "a=1&a=2"))
        #expect(Self.key(query: "a") != Self.key(query: "a="))
        #expect(Self.key(query: "a=%41") == Self.key(query: "a=A"))
        // vary_query_params: only those count.
        let vary: (inout ProxyCacheConfig) -> Void = { $0.varyQueryParams = ["a"] }
        #expect(Self.key(query: "a=1&b=2", configure: vary) == Self.key(query: "a=1&b=3", configure: vary))
        #expect(Self.key(query: "a=1", configure: vary) != Self.key(query: "a=2", configure: vary))
        // Headers count only when named in vary_headers (case-insensitive).
        #expect(Self.key(headers: [("X-Tenant", "1")]) == base)
        let byTenant: (inout ProxyCacheConfig) -> Void = { $0.varyHeaders = ["x-tenant"] }
        #expect(
            Self.key(headers: [("X-Tenant", "1")], configure: byTenant)
                != Self.key(headers: [("X-Tenant", "2")], configure: byTenant)
        )
    }

    @Test func kongsJoin() {
        #expect(
            CacheKey.join(["a", "b", "c", "d"]) { ["a": ["1"], "b": [nil], "c": ["2", "1"]][$0] } == "a=1:b:c=1,2"
        )
    }

    @Test(arguments: [
        ("application/json", "application/json", true),
        ("application/json", "Application/JSON", true),
        ("application/json", "application/json; charset=utf-8", false),
        ("application/json; charset=utf-8", "application/json;charset=utf-8", true),
        ("text/*", "text/html", true),
        ("*", "image/png", true),
        ("text/plain", "text/html", false),
    ])
    func contentTypes(configured: String, sent: String, matches: Bool) throws {
        let a = try #require(MediaType(configured))
        let b = try #require(MediaType(sent))
        #expect(a.accepts(b) == matches)
    }

    @Test func httpDates() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        // nginx's parser (Kong's `ngx.parse_http_time`) also reads RFC 850 and asctime dates.
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("Sun, 06 Nov 99999999999 08:49:37 GMT") == nil)
    }
}

/// The plugin's phases on hand-built contexts.
@Suite struct ProxyCachePluginTests {
    static let t = 1_709_214_330

    struct Upstream {
        var status = 200
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        var body = "{}"
    }

    /// One request: access, then (unless answered) the upstream's response through the response
    /// and body phases. Returns the status, the headers the client gets and the body.
    static func request(
        _ plugin: ProxyCachePlugin,
        method: String = "GET",
        headers: [(name: String, value: String)] = [],
        at now: Int = t,
        upstream: Upstream = Upstream()
    ) -> (status: Int, headers: [String: String], body: String) {
        var context = AccessContext(
            request: AccessRequest(method: method, path: "/items", headers: headers, query: nil),
            now: now
        )
        let outcome = plugin.access(&context, directory: Directory())
        if case .respond(let r) = outcome {
            var out: [String: String] = [:]
            for (n, v) in r.headers { out[n] = v }
            let body = if case .bytes(let b) = r.body { String(decoding: b, as: UTF8.self) } else { "" }
            return (r.status, out, body)
        }
        var response = ResponseContext(
            status: upstream.status,
            requestID: RequestID(high: 0, low: 0),
            consumer: nil,
            headers: HeaderFields(upstream.headers),
            plugins: context.plugins
        )
        plugin.response(&response)
        var out: [String: String] = [:]
        for (n, v) in upstream.headers { out[n] = v }
        for (n, v) in response.set { out[n] = v }
        if let filter = plugin.bodyFilter(for: response) {
            #expect(filter.observesOnly)
            _ = filter.filter(ByteBuffer(string: upstream.body), last: false)
            _ = filter.filter(ByteBuffer(), last: true)
        }
        return (upstream.status, out, upstream.body)
    }

    static func plugin(_ configure: (inout ProxyCacheConfig) -> Void = { _ in }) -> ProxyCachePlugin {
        var config = ProxyCacheConfig()
        configure(&config)
        return ProxyCachePlugin(config: config, stores: PluginStores(responseCacheBytes: 1 << 20))
    }

    @Test func missThenHitThenRefresh() {
        // Kept 600 s, served for 300 s (cache_ttl): between the two, a Refresh.
        let plugin = Self.plugin { $0.storageTTL = 600 }
        let miss = Self.request(plugin)
        #expect(miss.headers["X-Cache-Status"] == "Miss")
        let key = miss.headers["X-Cache-Key"]
        #expect(key?.count == 64)
        let hit = Self.request(plugin, at: Self.t + 7, upstream: Upstream(body: "not asked"))
        #expect(hit.status == 200 && hit.body == "{}")
        #expect(hit.headers["X-Cache-Status"] == "Hit")
        #expect(hit.headers["X-Cache-Key"] == key)
        #expect(hit.headers["Age"] == "7")
        #expect(hit.headers["Content-Type"] == "application/json")
        // Past cache_ttl (300 s): fetched again and replaced.
        let refresh = Self.request(plugin, at: Self.t + 301, upstream: Upstream(body: "[1]"))
        #expect(refresh.headers["X-Cache-Status"] == "Refresh")
        #expect(Self.request(plugin, at: Self.t + 302).body == "[1]")
        // Without storage_ttl an entry is kept for cache_ttl: after it, a plain Miss (as Kong).
        let short = Self.plugin()
        _ = Self.request(short)
        #expect(Self.request(short, at: Self.t + 301).headers["X-Cache-Status"] == "Miss")
    }

    @Test func bypasses() {
        let plugin = Self.plugin()
        #expect(Self.request(plugin, method: "POST").headers["X-Cache-Status"] == "Bypass")
        // Not a cached status or content type: the answer is not kept.
        let teapot = Self.request(plugin, upstream: Upstream(status: 418))
        #expect(teapot.headers["X-Cache-Status"] == "Bypass")
        let html = Self.request(plugin, upstream: Upstream(headers: [("Content-Type", "text/html")]))
        #expect(html.headers["X-Cache-Status"] == "Bypass")
        #expect(Self.request(plugin).headers["X-Cache-Status"] == "Miss")
    }

    @Test func cacheControl() {
        let plugin = Self.plugin { $0.cacheControl = true }
        #expect(Self.request(plugin, headers: [("Cache-Control", "no-cache")]).headers["X-Cache-Status"] == "Bypass")
        #expect(Self.request(plugin, headers: [("Authorization", "x")]).headers["X-Cache-Status"] == "Bypass")
        // Nothing cached and only-if-cached: 504.
        #expect(Self.request(plugin, headers: [("Cache-Control", "only-if-cached")]).status == 504)
        // The response's own lifetime: none means not kept; max-age=10 is kept for 10 s.
        #expect(Self.request(plugin).headers["X-Cache-Status"] == "Bypass")
        let tenSeconds = Upstream(headers: [("Content-Type", "application/json"), ("Cache-Control", "max-age=10")])
        #expect(Self.request(plugin, upstream: tenSeconds).headers["X-Cache-Status"] == "Miss")
        #expect(Self.request(plugin, at: Self.t + 5).headers["X-Cache-Status"] == "Hit")
        // The client's max-age makes a 5 s old entry too old for it.
        #expect(
            Self.request(plugin, headers: [("Cache-Control", "max-age=2")], at: Self.t + 5, upstream: tenSeconds)
                .headers["X-Cache-Status"] == "Refresh"
        )
        // An upstream's absurd lifetime is bounded, never a trap.
        let forever = Upstream(headers: [("Content-Type", "application/json"), ("Cache-Control", "max-age=1e300")])
        #expect(Self.request(plugin, headers: [("X-Other", "1")], at: Self.t + 1000, upstream: forever).status == 200)
        let privately = Upstream(headers: [
            ("Content-Type", "application/json"), ("Cache-Control", "private, max-age=10"),
        ])
        #expect(Self.request(plugin, upstream: privately).headers["X-Cache-Status"] != "Miss")
    }

    @Test func aBodyLargerThanTheCacheMayHoldPassesUncached() {
        // 16 shards of 1,000 bytes: an entry may hold 1,000 bytes at most.
        let plugin = ProxyCachePlugin(config: ProxyCacheConfig(), stores: PluginStores(responseCacheBytes: 16_000))
        let big = Upstream(body: String(repeating: "x", count: 2000))
        #expect(Self.request(plugin, upstream: big).body.count == 2000)
        #expect(Self.request(plugin, upstream: big).headers["X-Cache-Status"] == "Miss")
        _ = Self.request(plugin, upstream: Upstream(body: "small"))
        #expect(Self.request(plugin).headers["X-Cache-Status"] == "Hit")
    }

    @Test func headersOnlyAsConfiguredOrForKongDebug() {
        let plugin = Self.plugin {
            $0.sendStatus = false
            $0.sendKey = false
            $0.sendAge = false
        }
        #expect(Self.request(plugin).headers["X-Cache-Status"] == nil)
        let hit = Self.request(plugin)
        #expect(hit.headers["X-Cache-Status"] == nil && hit.headers["Age"] == nil)
        let debug = Self.request(plugin, headers: [("Kong-Debug", "1")])
        #expect(debug.headers["X-Cache-Status"] == "Hit" && debug.headers["X-Cache-Key"] != nil)
    }
}
