import Testing
import TurnpikeModel

@testable import TurnpikePlugins

/// rate-limiting, local policy (kong/plugins/rate-limiting/handler.lua): counts, refusals and the
/// headers, on a hand-built context and clock.
@Suite struct RateLimitingTests {
    static func plugin(
        _ limits: [RateLimitPeriod: Double],
        configure: (inout RateLimitingConfig) -> Void = { _ in }
    )
        -> RateLimitingPlugin
    {
        var config = RateLimitingConfig()
        config.limits = limits
        configure(&config)
        return RateLimitingPlugin(config: config, stores: PluginStores())
    }

    static func run(
        _ plugin: RateLimitingPlugin,
        at now: Int,
        client: String = "10.0.0.1",
        headers: [(String, String)] = []
    ) -> (AccessOutcome, [String: String]) {
        var context = AccessContext(
            request: AccessRequest(
                method: "GET",
                headers: headers.map { (name: $0.0, value: $0.1) },
                query: nil,
                clientAddress: client
            ),
            now: now
        )
        let outcome = plugin.access(&context, directory: Directory())
        var sent: [String: String] = [:]
        if case .respond(let r) = outcome {
            for (n, v) in r.headers { sent[n] = v }
        } else {
            for (n, v) in context.responseHeaders { sent[n] = v }
        }
        return (outcome, sent)
    }

    // 2024-02-29T13:45:30Z
    static let t = 1_709_214_330

    @Test func kongsMinuteExample() {
        let plugin = Self.plugin([.minute: 6])
        for expected in [5, 4, 3, 2, 1, 0] {
            let (outcome, headers) = Self.run(plugin, at: Self.t)
            #expect(outcome == .proceed)
            #expect(headers["X-RateLimit-Limit-Minute"] == "6")
            #expect(headers["X-RateLimit-Remaining-Minute"] == "\(expected)")
            #expect(headers["RateLimit-Limit"] == "6" && headers["RateLimit-Remaining"] == "\(expected)")
            #expect(headers["RateLimit-Reset"] == "30")
        }
        let (refused, headers) = Self.run(plugin, at: Self.t + 5)
        guard case .respond(let response) = refused else {
            Issue.record("the seventh request went through")
            return
        }
        #expect(response.status == 429 && response.message == "API rate limit exceeded")
        #expect(headers["X-RateLimit-Remaining-Minute"] == "0" && headers["RateLimit-Remaining"] == "0")
        #expect(headers["RateLimit-Reset"] == "25" && headers["Retry-After"] == "25")
        // Another client has its own count; the next minute starts from zero.
        #expect(Self.run(plugin, at: Self.t, client: "10.0.0.2").0 == .proceed)
        #expect(Self.run(plugin, at: Self.t + 30).1["X-RateLimit-Remaining-Minute"] == "5")
    }

    @Test func theTightestPeriodNamesTheRateLimitHeaders() {
        let plugin = Self.plugin([.second: 2, .hour: 3])
        _ = Self.run(plugin, at: Self.t)
        let (_, second) = Self.run(plugin, at: Self.t)
        // second: 0 left, hour: 1 left -> the second decides.
        #expect(second["X-RateLimit-Remaining-Second"] == "0" && second["X-RateLimit-Remaining-Hour"] == "1")
        #expect(second["RateLimit-Limit"] == "2" && second["RateLimit-Reset"] == "1")
        // The hour's limit stops the fourth request; the refused period shows 0, the other its rest.
        _ = Self.run(plugin, at: Self.t + 1)
        let (refused, headers) = Self.run(plugin, at: Self.t + 2)
        #expect(refused != .proceed)
        #expect(headers["X-RateLimit-Remaining-Hour"] == "0" && headers["X-RateLimit-Remaining-Second"] == "2")
        #expect(headers["RateLimit-Limit"] == "3" && headers["Retry-After"] == headers["RateLimit-Reset"])
    }

    /// `limit_by: path` compares Kong's normalized path (`kong.request.get_path`).
    @Test func pathIsComparedNormalized() {
        let plugin = Self.plugin([.minute: 1]) {
            $0.limitBy = "path"
            $0.path = "/api"
        }
        var context = AccessContext(
            request: AccessRequest(method: "GET", path: "//api/./", headers: [], query: nil, clientAddress: "10.0.0.1"),
            now: Self.t
        )
        context.request.normalizedPath = Array("/api".utf8)
        #expect(plugin.identifier(context) == .text("/api"))
        context.request.normalizedPath = Array("/other".utf8)
        #expect(plugin.identifier(context) == .text("10.0.0.1"))
    }

    @Test func identifiersAndHiddenHeaders() {
        let byHeader = Self.plugin([.minute: 1]) {
            $0.limitBy = "header"
            $0.headerName = "X_Tenant"
        }
        #expect(Self.run(byHeader, at: Self.t, headers: [("x-tenant", "a")]).0 == .proceed)
        #expect(Self.run(byHeader, at: Self.t, client: "10.9.9.9", headers: [("X-Tenant", "a")]).0 != .proceed)
        #expect(Self.run(byHeader, at: Self.t, headers: [("x-tenant", "b")]).0 == .proceed)
        let hidden = Self.plugin([.minute: 1]) {
            $0.hideClientHeaders = true
            $0.errorCode = 503
            $0.errorMessage = "slow down"
        }
        #expect(Self.run(hidden, at: Self.t).1.isEmpty)
        let (refused, headers) = Self.run(hidden, at: Self.t)
        #expect(refused == .respond(LocalResponse(status: 503, message: "slow down")))
        #expect(headers.isEmpty)
    }
}

/// `ResponseContext.setHeaders`: the same edits as one `setHeader` per pair.
@Suite struct SetHeadersTests {
    @Test func aListIsSetAsOneByOne() {
        let list = [(name: "X-A", value: "1"), (name: "X-B", value: "2")]
        var fast = ResponseContext(status: 200, requestID: RequestID(high: 0, low: 0), consumer: nil)
        fast.setHeaders(list)
        var slow = ResponseContext(status: 200, requestID: RequestID(high: 0, low: 0), consumer: nil)
        for (n, v) in list { slow.setHeader(n, v) }
        #expect(fast.remove == slow.remove)
        #expect(fast.set.map(\.name) == slow.set.map(\.name) && fast.set.map(\.value) == slow.set.map(\.value))
        // After another handler's edits, the list replaces what it names.
        var later = ResponseContext(status: 200, requestID: RequestID(high: 0, low: 0), consumer: nil)
        later.setHeader("x-a", "0")
        later.addHeader("X-B", "extra")
        later.setHeaders(list)
        #expect(later.header("X-A") == "1" && later.header("x-b") == "2")
        #expect(later.add.isEmpty)
    }
}

/// A shared store that answers from memory, recording what it was asked, on the caller's thread.
final class FakeSharedCounters: SharedCounters, @unchecked Sendable {
    var counts: [String: Int64] = [:]
    var asked: [[SharedCounterCommand]] = []
    var failing = false
    /// When set, replies are held until `release()` (as a network round trip would).
    var holding = false
    var held: [() -> Void] = []

    func run(
        _ commands: [SharedCounterCommand],
        completion: @escaping @Sendable (Result<[Int64], SharedCountersFailure>) -> Void
    ) {
        self.asked.append(commands)
        let reply = { [self] in
            if self.failing {
                completion(.failure(SharedCountersFailure("down")))
                return
            }
            var out: [Int64] = []
            for command in commands {
                switch command {
                case .countBeforeIncrement(let key, _):
                    out.append(self.counts[key, default: 0])
                    self.counts[key, default: 0] += 1
                case .add(let key, let amount, _):
                    self.counts[key, default: 0] += amount
                    out.append(self.counts[key]!)
                case .get(let key):
                    out.append(self.counts[key, default: 0])
                case .addUntil(let key, let amount, _):
                    self.counts[key, default: 0] += amount
                    out.append(self.counts[key]!)
                }
            }
            completion(.success(out))
        }
        if self.holding { self.held.append(reply) } else { reply() }
    }

    /// Timers: run by `fireTimers()`.
    var timers: [@Sendable () -> Void] = []

    func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) {
        self.timers.append(body)
    }

    func fireTimers() {
        let timers = self.timers
        self.timers = []
        for body in timers { body() }
    }

    func release() {
        let held = self.held
        self.held = []
        for reply in held { reply() }
    }
}

struct FakeProvider: SharedCountersProvider {
    let store: FakeSharedCounters
    func counters(for settings: RedisSettings) -> any SharedCounters { self.store }
}

/// The plugin stores keep shared counters only while something uses them.
@Suite struct SharedCounterStoresTests {
    final class Counting: SharedCountersProvider, @unchecked Sendable {
        var made = 0
        func counters(for settings: RedisSettings) -> any SharedCounters {
            self.made += 1
            return FakeSharedCounters()
        }
    }

    @Test func oneStorePerSettingsWhileUsed() {
        let provider = Counting()
        let stores = PluginStores(sharedCounters: provider)
        var a = RedisSettings()
        a.host = "r1"
        var kept: (any SharedCounters)? = stores.sharedCounters(a)
        #expect(stores.sharedCounters(a) === kept)
        #expect(provider.made == 1)
        kept = nil
        _ = stores.sharedCounters(a)
        #expect(provider.made == 2)
        _ = kept
    }
}

/// rate-limiting, redis policy, against a fake store: Kong's keys and usage arithmetic (every
/// request counted), waiting without blocking, and the fault-tolerant choice.
@Suite struct RateLimitingRedisPolicyTests {
    static func plugin(
        _ store: FakeSharedCounters,
        _ limits: [RateLimitPeriod: Double],
        configure: (inout RateLimitingConfig) -> Void = { _ in }
    ) -> RateLimitingPlugin {
        var config = RateLimitingConfig()
        config.limits = limits
        config.policy = "redis"
        config.redis.host = "127.0.0.1"
        configure(&config)
        return RateLimitingPlugin(config: config, stores: PluginStores(sharedCounters: FakeProvider(store: store)))
    }

    /// Runs the access phase to its end (the fake answers at once unless holding).
    static func run(_ plugin: RateLimitingPlugin, at now: Int, client: String = "10.0.0.1") -> AccessOutcome {
        var context = AccessContext(
            request: AccessRequest(method: "GET", headers: [], query: nil, clientAddress: client),
            now: now
        )
        var outcome = plugin.access(&context, directory: Directory())
        if case .pending(let pending) = outcome {
            var continuation: PendingAccess.Continuation?
            pending.whenSettled { continuation = pending.takeContinuation() }
            guard let continuation else { return outcome }
            outcome = continuation(&context)
        }
        return outcome
    }

    static let t = RateLimitingTests.t  // 2024-02-29T13:45:30Z

    @Test func kongsKeysAndExpiries() {
        let store = FakeSharedCounters()
        let route = EntityID("5a5f4b1c-0d6e-4f70-8a9b-0c1d2e3f4a5b")!
        let plugin = Self.plugin(store, [.minute: 5, .day: 100]) { $0.scope = PluginScope(route: route) }
        #expect(Self.run(plugin, at: Self.t) == .proceed)
        let minute = Int64(Self.t - 30) * 1000
        let day = Int64(Self.t - (13 * 3600 + 45 * 60 + 30)) * 1000
        #expect(
            store.asked == [
                [
                    .countBeforeIncrement(
                        key: "ratelimit:\(route):00000000-0000-0000-0000-000000000000:10.0.0.1:\(minute):minute",
                        expiry: 60
                    ),
                    .countBeforeIncrement(
                        key: "ratelimit:\(route):00000000-0000-0000-0000-000000000000:10.0.0.1:\(day):day",
                        expiry: 86_400
                    ),
                ]
            ]
        )
    }

    @Test func refusedRequestsCountAsInKong() {
        let store = FakeSharedCounters()
        let plugin = Self.plugin(store, [.minute: 2])
        #expect(Self.run(plugin, at: Self.t) == .proceed)
        #expect(Self.run(plugin, at: Self.t) == .proceed)
        for _ in 0..<2 {
            guard case .respond(let r) = Self.run(plugin, at: Self.t) else {
                Issue.record("over the limit, yet proxied")
                return
            }
            #expect(r.status == 429)
            #expect(r.header("X-RateLimit-Remaining-Minute") == "0")
            #expect(r.header("Retry-After") == "30")
        }
        // Kong's usage script counts every request, refused ones too.
        #expect(store.counts.values.first == 4)
    }

    @Test func theRequestWaitsForTheReply() {
        let store = FakeSharedCounters()
        store.holding = true
        let plugin = Self.plugin(store, [.minute: 2])
        var context = AccessContext(
            request: AccessRequest(method: "GET", headers: [], query: nil, clientAddress: "10.0.0.1"),
            now: Self.t
        )
        guard case .pending(let pending) = plugin.access(&context, directory: Directory()) else {
            Issue.record("the redis policy answered without its store")
            return
        }
        var resumed = false
        pending.whenSettled { resumed = true }
        #expect(!resumed)
        store.release()
        #expect(resumed)
        let outcome = pending.takeContinuation()?(&context)
        #expect(outcome == .proceed)
        #expect(context.responseHeaders.first?.value == "2")
    }

    @Test func aStoreFailureFollowsFaultTolerant() {
        let store = FakeSharedCounters()
        store.failing = true
        #expect(Self.run(Self.plugin(store, [.minute: 2]), at: Self.t) == .proceed)
        let strict = Self.plugin(store, [.minute: 2]) { $0.faultTolerant = false }
        guard case .respond(let r) = Self.run(strict, at: Self.t) else {
            Issue.record("fault_tolerant false let the request through")
            return
        }
        #expect(r.status == 500 && r.message == "An unexpected error occurred")
        // A timeout decides the same way.
        var context = AccessContext(
            request: AccessRequest(method: "GET", headers: [], query: nil, clientAddress: "10.0.0.1"),
            now: Self.t
        )
        store.failing = false
        store.holding = true
        guard case .pending(let pending) = strict.access(&context, directory: Directory()) else { return }
        #expect(pending.timeout == .milliseconds(2000))
        #expect(
            pending.onTimeout(&context) == .respond(LocalResponse(status: 500, message: "An unexpected error occurred"))
        )
    }

    /// `sync_rate`: a key is read from Redis once, then counted on the node's copy; the counts go
    /// to Redis on the timer, and the next request reads Redis again (seeing other nodes' counts).
    @Test func syncRateCountsLocallyAndSyncsOnTheTimer() {
        let store = FakeSharedCounters()
        let plugin = Self.plugin(store, [.minute: 5]) { $0.syncRate = 10 }
        #expect(Self.run(plugin, at: Self.t) == .proceed)
        #expect(store.asked.count == 1)  // the first read (counted in Redis by the script)
        #expect(Self.run(plugin, at: Self.t) == .proceed)
        #expect(Self.run(plugin, at: Self.t) == .proceed)
        #expect(store.asked.count == 1)  // served by the copy
        let key = store.counts.keys.first!
        #expect(store.counts[key] == 1)
        // Another node counts 1 meanwhile.
        store.counts[key]! += 1
        #expect(store.timers.count == 1)
        store.fireTimers()
        // The node's 2 further requests arrive in Redis: 1 (read) + 1 (other node) + 2.
        #expect(store.counts[key] == 4)
        #expect(store.asked.last == [.addUntil(key: key, amount: 2, expireAt: Int64(Self.t - 30 + 60))])
        // The copy is gone: the next request reads Redis (4 before it). Kong's copy then holds the
        // count before the read (its delta of -1 offsets the script's count, and this request's
        // own +1 brings it to 0), so one more request passes before the limit holds: sync mode
        // trades exactness for fewer round trips, in Kong as here.
        #expect(Self.run(plugin, at: Self.t) == .proceed)
        #expect(Self.run(plugin, at: Self.t) == .proceed)
        guard case .respond(let refused) = Self.run(plugin, at: Self.t) else {
            Issue.record("the fleet's count was not seen")
            return
        }
        #expect(refused.status == 429)
        // Refused requests are not counted in the sync.
        store.fireTimers()
        #expect(store.counts[key] == 6)
    }
}
