import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// correlation-id through a real gateway: the upstream gets the id, the client gets it back.
@Suite struct CorrelationIDEndToEndTests {
    static let config = """
        _format_version: "3.0"
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: traced
                paths: [/traced]
                plugins:
                  - name: correlation-id
                    config: {echo_downstream: true}
        """

    @Test func generatedKeptAndEchoed() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let r = try TestClient.get(port: gw.proxyPort, "/traced/request")
            let id = try #require(r.header("kong-request-id"))
            #expect(id.contains("#"))
            #expect((r.json?["headers"] as? [String: Any])?["kong-request-id"] as? String == id)
            let kept = try TestClient.get(port: gw.proxyPort, "/traced/request", headers: ["Kong-Request-ID": "mine"])
            #expect(kept.header("kong-request-id") == "mine")
            #expect((kept.json?["headers"] as? [String: Any])?["kong-request-id"] as? String == "mine")
        }
    }
}
