import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// cors through a real gateway, on a key-auth route: the preflight is answered before
/// authentication (cors runs first), and every answer, a 401 included, carries the CORS headers.
@Suite struct CORSEndToEndTests {
    static let config = """
        _format_version: "3.0"
        consumers:
          - username: alice
            keyauth_credentials: [{key: alice-key}]
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: api
                paths: [/api]
                plugins:
                  - name: cors
                    config: {origins: ["http://app.test", "(.*[.])?trusted\\\\.test"], credentials: true, max_age: 600}
                  - name: key-auth
        """

    @Test func preflightBeforeAuthenticationAndHeadersOnEveryAnswer() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let client = try TestClient(port: gw.proxyPort)
            try client.send(
                "OPTIONS /api/request HTTP/1.1\r\nHost: x\r\nOrigin: http://app.test\r\n"
                    + "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: apikey\r\n\r\n"
            )
            let preflight = try client.readResponse()
            #expect(preflight.status == 200)
            #expect(preflight.body.isEmpty)
            #expect(preflight.header("access-control-allow-origin") == "http://app.test")
            #expect(preflight.header("access-control-allow-headers") == "apikey")
            #expect(preflight.header("access-control-max-age") == "600")
            #expect(preflight.header("access-control-allow-credentials") == "true")
            #expect(preflight.header("vary") == "Origin")

            let denied = try TestClient.get(
                port: gw.proxyPort,
                "/api/request",
                headers: ["Origin": "https://www.trusted.test"]
            )
            #expect(denied.status == 401)
            #expect(denied.header("access-control-allow-origin") == "https://www.trusted.test")

            let ok = try TestClient.get(
                port: gw.proxyPort,
                "/api/request",
                headers: ["Origin": "http://evil.test", "apikey": "alice-key"]
            )
            #expect(ok.status == 200)
            #expect(ok.header("access-control-allow-origin") == nil)
            #expect(ok.header("access-control-allow-credentials") == "true")
        }
    }
}
