import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// response-ratelimiting through a real gateway, local and redis policies: the upstream's
/// `X-Kong-Limit` is counted and hidden, the remaining counts go upstream and to the client, and
/// a response that costs a used-up limit becomes a bodiless 429.
@Suite(.serialized) struct ResponseRateLimitingEndToEndTests {
    static func config(policy: String) -> String {
        """
        _format_version: "3.0"
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: videos
                paths: [/videos]
                plugins:
                  - name: response-ratelimiting
                    config:
                      limit_by: ip
                      limits: {videos: {day: 3}}
                      \(policy)
        """
    }

    @Test(arguments: ["local", "redis"])
    func countedByWhatTheUpstreamSays(policy: String) async throws {
        let redis = policy == "redis" ? try RedisServer() : nil
        defer { redis?.stop() }
        let settings =
            redis.map { "policy: redis\n              redis: {host: 127.0.0.1, port: \($0.port)}" } ?? "policy: local"
        try await TestGateway.with(yaml: Self.config(policy: settings)) { gw in
            let path = "/videos/response-headers?X-Kong-Limit=videos%3D2"
            let first = try TestClient.get(port: gw.proxyPort, path)
            #expect(first.status == 200)
            #expect(first.header("x-ratelimit-limit-videos-day") == "3")
            #expect(first.header("x-ratelimit-remaining-videos-day") == "1")
            #expect(first.header("x-kong-limit") == nil)
            let echoed = first.json?["headers"] as? [String: Any]
            #expect(echoed?["x-ratelimit-remaining-videos"] as? String == "3")

            let second = try TestClient.get(port: gw.proxyPort, path)
            #expect(second.status == 200)
            #expect(second.header("x-ratelimit-remaining-videos-day") == "0")

            // Used up (4 of 3): the next costly response is replaced by a 429 without a body.
            let third = try TestClient.get(port: gw.proxyPort, path)
            #expect(third.status == 429)
            #expect(third.body.isEmpty)
            #expect(third.header("content-length") == "0")
            #expect(third.header("x-ratelimit-remaining-videos-day") == "0")
            // A response that costs nothing still goes through.
            let free = try TestClient.get(port: gw.proxyPort, "/videos/request")
            #expect(free.status == 200)
            #expect(!free.body.isEmpty)
        }
    }
}
