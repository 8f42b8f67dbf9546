import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// cors, key-auth and request-transformer on one route (issue #14): the preflight is answered
/// before authentication; an authenticated request reaches the upstream transformed (headers,
/// query, Host, path from the route's captures) and comes back with the CORS headers.
@Suite struct RequestShapingEndToEndTests {
    static let config = """
        _format_version: "3.0"
        consumers:
          - username: alice
            keyauth_credentials: [{key: alice-key}]
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: users
                paths: ["~/users/(?<id>\\\\d+)$"]
                plugins:
                  - name: cors
                    config: {origins: ["http://app.test"]}
                  - name: key-auth
                  - name: request-transformer
                    config:
                      remove: {headers: [x-internal], querystring: [debug]}
                      add: {headers: ['X-User-Id:$(uri_captures.id)', 'X-Consumer-Name:$(headers["x-consumer-username"] or "anonymous")'], querystring: ['source:gateway']}
                      replace: {uri: '/request/$(uri_captures.id)', headers: ['host:users.internal']}
              - name: probe
                paths: [/probe]
                plugins:
                  - name: request-transformer
                    config: {http_method: HEAD}
        """

    @Test func corsKeyAuthAndRequestTransformer() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let client = try TestClient(port: gw.proxyPort)
            try client.send(
                "OPTIONS /users/42 HTTP/1.1\r\nHost: x\r\nOrigin: http://app.test\r\nAccess-Control-Request-Method: GET\r\n\r\n"
            )
            let preflight = try client.readResponse()
            #expect(preflight.status == 200)
            #expect(preflight.header("access-control-allow-origin") == "http://app.test")

            let r = try TestClient.get(
                port: gw.proxyPort,
                "/users/42?debug=1&page=2",
                headers: ["apikey": "alice-key", "X-Internal": "secret", "Origin": "http://app.test"]
            )
            #expect(r.status == 200)
            #expect(r.header("access-control-allow-origin") == "http://app.test")
            let echo = try #require(r.json)
            #expect(echo["path"] as? String == "/request/42")
            let headers = echo["headers"] as? [String: Any]
            #expect(headers?["x-internal"] == nil)
            #expect(headers?["x-user-id"] as? String == "42")
            // The template reads the request as key-auth left it, as Kong's PDK does.
            #expect(headers?["x-consumer-name"] as? String == "alice")
            #expect(headers?["host"] as? String == "users.internal")
            let query = echo["query"] as? [String: Any]
            #expect(query?["debug"] == nil)
            #expect(query?["page"] as? String == "2")
            #expect(query?["source"] as? String == "gateway")
        }
    }
    /// A GET sent upstream as HEAD (`http_method: HEAD`): the upstream's answer has no body, so
    /// the client gets an empty one, framed as such, not a length no bytes follow (nginx relays
    /// the length, and the client waits for a body that never comes).
    @Test func getSentUpstreamAsHeadEndsWithAnEmptyBody() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let client = try TestClient(port: gw.proxyPort)
            for _ in 0..<2 {
                try client.send("GET /probe/request HTTP/1.1\r\nHost: x\r\n\r\n")
                let r = try client.readResponse()
                #expect(r.status == 200)
                #expect(r.body.isEmpty)
                #expect(r.header("content-length") == nil || r.header("content-length") == "0")
            }
        }
    }
}
