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
}
