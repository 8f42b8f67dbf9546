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
            var response = ResponseContext(
                status: 200,
                requestID: RequestID(high: 0, low: 0),
                consumer: nil,
                plugins: context.plugins
            )
            plugin.response(&response)
            for (n, v) in response.set { sent[n] = v }
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
