import Testing
import TurnpikeTestSupport

/// ip-restriction through a real gateway (kong/plugins/ip-restriction/handler.lua): the client
/// address is the connection's peer, 127.0.0.1 here.
@Suite struct IPRestrictionEndToEndTests {
    static let config = """
        _format_version: "3.0"
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: denied
                paths: [/denied]
                plugins:
                  - name: ip-restriction
                    config: {deny: [127.0.0.0/8]}
              - name: allowed
                paths: [/allowed]
                plugins:
                  - name: ip-restriction
                    config: {allow: [127.0.0.1, "::1"]}
              - name: elsewhere
                paths: [/elsewhere]
                plugins:
                  - name: ip-restriction
                    config: {allow: [10.0.0.0/8], status: 401, message: "not from here"}
        """

    @Test func theDenyAndAllowListsDecide() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let denied = try TestClient.get(port: gw.proxyPort, "/denied/x", headers: ["Accept": "application/json"])
            #expect(denied.status == 403)
            #expect(denied.json?["message"] as? String == "IP address not allowed: 127.0.0.1")
            #expect(try TestClient.get(port: gw.proxyPort, "/allowed/x").status == 200)
            let elsewhere = try TestClient.get(
                port: gw.proxyPort,
                "/elsewhere/x",
                headers: ["Accept": "application/json"]
            )
            #expect(elsewhere.status == 401)
            #expect(elsewhere.json?["message"] as? String == "not from here")
        }
    }
}
