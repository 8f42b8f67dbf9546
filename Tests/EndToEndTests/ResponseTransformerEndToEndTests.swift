import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// response-transformer through a real gateway: header edits, and JSON body edits on the mock's
/// JSON echo (the length is dropped: the body changes).
@Suite struct ResponseTransformerEndToEndTests {
    static let config = """
        _format_version: "3.0"
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: shaped
                paths: [/shaped]
                plugins:
                  - name: response-transformer
                    config:
                      remove: {headers: [server], json: [headers]}
                      rename: {json: ["method:verb"]}
                      add: {headers: ["X-Shaped:yes"], json: ["shaped:true"], json_types: [boolean]}
              - name: gateway-headers
                paths: [/gateway]
                plugins:
                  - name: response-transformer
                    config:
                      rename: {headers: ["Via:X-Via"]}
                      add: {headers: ["X-Kong-Proxy-Latency:99"]}
                      replace: {headers: ["X-Kong-Request-Id:replaced"]}
        """

    @Test func headersAndJSONBody() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let r = try TestClient.get(port: gw.proxyPort, "/shaped/request")
            #expect(r.status == 200)
            #expect(r.header("x-shaped") == "yes")
            let json = try #require(r.json)
            #expect(json["headers"] == nil)
            #expect(json["method"] == nil)
            #expect(json["verb"] as? String == "GET")
            #expect(json["shaped"] as? Bool == true)
            // Not JSON: passes untouched.
            let bytes = try TestClient.get(port: gw.proxyPort, "/shaped/bytes/10")
            #expect(bytes.body.count == 10)
            #expect(bytes.header("x-shaped") == "yes")
        }
    }

    /// The headers the gateway writes (Via, X-Kong-*) are there for the plugin, as in Kong.
    @Test func gatewayHeadersAreEditable() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let r = try TestClient.get(port: gw.proxyPort, "/gateway/request")
            #expect(r.status == 200)
            #expect(r.header("via") == nil)
            #expect(r.header("x-via")?.hasPrefix("1.1 turnpike/") == true)
            #expect(r.headers("x-kong-proxy-latency").count == 1)
            #expect(r.header("x-kong-proxy-latency") != "99")
            #expect(r.headers("x-kong-request-id") == ["replaced"])
        }
    }
}
