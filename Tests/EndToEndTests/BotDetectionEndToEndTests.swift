import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// bot-detection through a real gateway (Kong's spec: a known bot is refused, a browser and
/// curl pass, `deny` adds patterns, `allow` lets a known bot through).
@Suite struct BotDetectionEndToEndTests {
    static let config = """
        _format_version: "3.0"
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: plain
                paths: [/plain]
                plugins:
                  - name: bot-detection
              - name: tuned
                paths: [/tuned]
                plugins:
                  - name: bot-detection
                    config: {allow: [facebookexternalhit/1.1], deny: [HelloWorld]}
        """

    @Test func kongsSpec() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            func status(_ path: String, _ agent: String) throws -> Int {
                try TestClient.get(port: gw.proxyPort, path, headers: ["User-Agent": agent]).status
            }
            #expect(try status("/plain/request", "curl/7.43.0") == 200)
            #expect(try status("/plain/request", "Googlebot/2.1 (+http://www.google.com/bot.html)") == 403)
            #expect(try status("/plain/request", "facebookexternalhit/1.1") == 403)
            #expect(try status("/tuned/request", "facebookexternalhit/1.1") == 200)
            #expect(try status("/tuned/request", "HelloWorld") == 403)
            let refused = try TestClient.get(
                port: gw.proxyPort,
                "/plain/request",
                headers: ["User-Agent": "Googlebot/2.1", "Accept": "application/json"]
            )
            #expect(refused.json?["message"] as? String == "Forbidden")
        }
    }
}
