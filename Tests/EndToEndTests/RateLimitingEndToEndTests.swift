import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// rate-limiting, local policy, through a real gateway: the headers on proxied answers, Kong's
/// 429, one count for the whole node (both event loops of the test gateway), a reload that keeps
/// the counts.
@Suite struct RateLimitingEndToEndTests {
    static let config = """
        _format_version: "3.0"
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: limited
                paths: [/limited]
                plugins:
                  - name: rate-limiting
                    config: {day: 3, month: 100, limit_by: ip}
        """

    /// A day's limit: the window cannot roll over during the test (a minute's could, at :59).
    @Test func threeADayThenKongs429() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            // New connections land on either loop: the count is the node's.
            for expected in [2, 1, 0] {
                let r = try TestClient.get(port: gw.proxyPort, "/limited/request")
                #expect(r.status == 200)
                #expect(r.header("x-ratelimit-limit-day") == "3")
                #expect(r.header("x-ratelimit-remaining-day") == "\(expected)")
                #expect(r.header("ratelimit-remaining") == "\(expected)")
                #expect(r.header("x-ratelimit-limit-month") == "100")
            }
            // A reload (the plugin unchanged) keeps the counts.
            try gw.writeConfig(Self.config + "\n# reloaded\n")
            _ = await gw.reloader.reload()
            let refused = try TestClient.get(
                port: gw.proxyPort,
                "/limited/request",
                headers: ["Accept": "application/json"]
            )
            #expect(refused.status == 429)
            #expect(refused.json?["message"] as? String == "API rate limit exceeded")
            #expect(refused.header("x-ratelimit-remaining-day") == "0")
            #expect(refused.header("retry-after") == refused.header("ratelimit-reset"))
        }
    }

    /// A consumer's own instance replaces the route's once key-auth has identified the consumer
    /// (Kong's consumer scope); other consumers keep the route's limit.
    @Test func aConsumerScopedLimitAppliesToItsConsumerOnly() async throws {
        let config = """
            _format_version: "3.0"
            consumers:
              - username: alice
                keyauth_credentials: [{key: alice-key}]
              - username: bob
                keyauth_credentials: [{key: bob-key}]
            services:
              - name: mock
                url: http://{{MOCK}}
                routes:
                  - name: limited
                    paths: [/limited]
                    plugins:
                      - name: key-auth
                      - name: rate-limiting
                        config: {day: 100}
            plugins:
              - name: rate-limiting
                consumer: alice
                config: {day: 2}
            """
        try await TestGateway.with(yaml: config) { gw in
            for expected in ["1", "0"] {
                let r = try TestClient.get(port: gw.proxyPort, "/limited/request", headers: ["apikey": "alice-key"])
                #expect(r.status == 200)
                #expect(r.header("x-ratelimit-limit-day") == "2")
                #expect(r.header("x-ratelimit-remaining-day") == expected)
            }
            let refused = try TestClient.get(port: gw.proxyPort, "/limited/request", headers: ["apikey": "alice-key"])
            #expect(refused.status == 429)
            let bob = try TestClient.get(port: gw.proxyPort, "/limited/request", headers: ["apikey": "bob-key"])
            #expect(bob.status == 200)
            #expect(bob.header("x-ratelimit-limit-day") == "100")
            #expect(bob.header("x-ratelimit-remaining-day") == "99")
        }
    }
}
