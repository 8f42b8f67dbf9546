import Testing
import TurnpikeModel

@testable import TurnpikePlugins

/// response-ratelimiting (kong/plugins/response-ratelimiting/): the three phases on hand-built
/// contexts, local and redis policies.
@Suite struct ResponseRateLimitingTests {
    static let t = RateLimitingTests.t  // 2024-02-29T13:45:30Z

    static func plugin(
        _ limits: [(String, [RateLimitPeriod: Double])],
        stores: PluginStores = PluginStores(),
        configure: (inout ResponseRateLimitingConfig) -> Void = { _ in }
    ) -> ResponseRateLimitingPlugin {
        var config = ResponseRateLimitingConfig()
        config.limits = limits.map { name, periods in
            let sorted = periods.sorted { $0.key < $1.key }
            return .init(name: name, periods: sorted.map(\.key), values: sorted.map(\.value))
        }
        configure(&config)
        return ResponseRateLimitingPlugin(config: config, stores: stores)
    }

    /// One request through the three phases; the upstream answers with `cost` in X-Kong-Limit.
    struct Outcome {
        var access: AccessOutcome
        var upstream: [String: String] = [:]
        var client: [String: String] = [:]
        var removed: [String] = []
        var exit: Int?
    }

    static func request(_ plugin: ResponseRateLimitingPlugin, cost: [String], at now: Int = t) -> Outcome {
        var context = AccessContext(
            request: AccessRequest(method: "GET", headers: [], query: nil, clientAddress: "10.0.0.1"),
            now: now
        )
        var access = plugin.access(&context, directory: Directory())
        if case .pending(let pending) = access {
            var continuation: PendingAccess.Continuation?
            pending.whenSettled { continuation = pending.takeContinuation() }
            access = continuation?(&context) ?? access
        }
        var out = Outcome(access: access)
        for (n, v) in context.edits.set { out.upstream[n] = v }
        guard access == .proceed else { return out }
        var response = ResponseContext(
            status: 200,
            requestID: RequestID(high: 0, low: 0),
            consumer: nil,
            headers: HeaderFields(cost.map { (name: "X-Kong-Limit", value: $0) }),
            plugins: context.plugins
        )
        plugin.response(&response)
        for (n, v) in response.set { out.client[n] = v }
        out.removed = response.remove
        out.exit = response.exitStatus
        var entry = LogEntry(
            requestID: RequestID(high: 0, low: 0),
            method: "GET",
            path: "/",
            status: response.exitStatus ?? 200,
            routeID: nil,
            serviceID: nil,
            consumerID: nil,
            totalLatencyMs: 0,
            upstreamLatencyMs: 0
        )
        entry.plugins = response.plugins
        plugin.log(entry)
        return out
    }

    @Test func theUpstreamSaysWhatAResponseCosts() {
        let plugin = Self.plugin([("videos", [.minute: 6, .hour: 100]), ("images", [.minute: 3])])
        let first = Self.request(plugin, cost: ["videos=2, images=1"])
        #expect(first.access == .proceed)
        #expect(first.upstream["X-RateLimit-Remaining-videos"] == "6")
        #expect(first.upstream["X-RateLimit-Remaining-images"] == "3")
        #expect(first.client["X-RateLimit-Limit-videos-minute"] == "6")
        #expect(first.client["X-RateLimit-Remaining-videos-minute"] == "4")
        #expect(first.client["X-RateLimit-Remaining-videos-hour"] == "98")
        #expect(first.client["X-RateLimit-Remaining-images-minute"] == "2")
        // The cost header never reaches the client.
        #expect(first.removed.contains("x-kong-limit"))
        #expect(first.exit == nil)
        // Counted in the log phase: the next request sees it.
        let second = Self.request(plugin, cost: ["videos=4"])
        #expect(second.upstream["X-RateLimit-Remaining-videos"] == "4")
        #expect(second.client["X-RateLimit-Remaining-videos-minute"] == "0")
        #expect(second.client["X-RateLimit-Remaining-images-minute"] == "2")
        // Used up: a response that costs videos becomes a 429 and is not counted; a free one passes.
        let third = Self.request(plugin, cost: ["videos=1"])
        #expect(third.exit == 429)
        #expect(Self.request(plugin, cost: []).exit == nil)
        #expect(Self.request(plugin, cost: ["images=1"]).exit == nil)
        // Another window starts from zero.
        #expect(Self.request(plugin, cost: [], at: Self.t + 60).upstream["X-RateLimit-Remaining-videos"] == "6")
    }

    @Test func blockOnFirstViolationRefusesInAccess() {
        let plugin = Self.plugin([("videos", [.minute: 2]), ("images", [.minute: 5])]) {
            $0.blockOnFirstViolation = true
        }
        _ = Self.request(plugin, cost: ["videos=2"])
        guard case .respond(let r) = Self.request(plugin, cost: []).access else {
            Issue.record("a used-up limit let the request through")
            return
        }
        #expect(r.status == 429 && r.message == "API rate limit exceeded for 'videos'")
    }

    @Test(arguments: [
        (["videos=1, images=2"], [1, 2] as [Int64?]),
        (["videos=1", "images=2"], [1, 2]),
        ([" videos = 3 ,other=9"], [3, nil]),
        (["videos=1.5, images=a=b"], [nil, nil]),
        (["videos=-2"], [-2, nil]),
        ([], [nil, nil]),
    ])
    func kongsHeaderParsing(lines: [String], expected: [Int64?]) {
        let plugin = Self.plugin([("images", [.minute: 1]), ("videos", [.minute: 1])])
        // Limits are kept by name: images first.
        #expect(plugin.increments(lines) == [expected[1], expected[0]])
    }

    @Test func hiddenHeaders() {
        let plugin = Self.plugin([("videos", [.minute: 6])]) { $0.hideClientHeaders = true }
        let r = Self.request(plugin, cost: ["videos=1"])
        #expect(r.client.isEmpty)
        #expect(r.upstream["X-RateLimit-Remaining-videos"] == "6")
    }

    @Test func redisKeysAndCommandsAsKong() {
        let store = FakeSharedCounters()
        let plugin = Self.plugin(
            [("videos", [.minute: 6])],
            stores: PluginStores(sharedCounters: FakeProvider(store: store))
        ) {
            $0.policy = "redis"
            $0.redis.host = "127.0.0.1"
        }
        let r = Self.request(plugin, cost: ["videos=2"])
        #expect(r.client["X-RateLimit-Remaining-videos-minute"] == "4")
        let prefix =
            "response-ratelimit:00000000-0000-0000-0000-000000000000:00000000-0000-0000-0000-000000000000:10.0.0.1:"
        let minute = Int64(Self.t - 30) * 1000
        #expect(store.asked.first == [.get(key: "\(prefix)\(minute):videos:minute")])
        // The log phase adds the cost in all six periods' windows (Kong's increment).
        let adds = store.asked.last ?? []
        #expect(adds.count == 6)
        #expect(adds.contains(.add(key: "\(prefix)\(minute):videos:minute", amount: 2, expiry: 60)))
        #expect(Self.request(plugin, cost: []).upstream["X-RateLimit-Remaining-videos"] == "4")
        // Redis away: fault_tolerant lets the request through, and nothing is counted.
        store.failing = true
        let away = Self.request(plugin, cost: ["videos=1"])
        #expect(away.access == .proceed && away.client.isEmpty && away.exit == nil)
    }
}
