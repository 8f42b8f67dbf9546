import Testing
import TurnpikeTestSupport

/// request-termination through a real gateway: the answer never reaches the upstream.
@Suite struct RequestTerminationEndToEndTests {
    static let config = """
        _format_version: "3.0"
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: closed
                paths: [/closed]
                plugins:
                  - name: request-termination
              - name: page
                paths: [/page]
                plugins:
                  - name: request-termination
                    config: {status_code: 200, body: "<h1>maintenance</h1>", content_type: text/html}
              - name: triggered
                paths: [/triggered]
                plugins:
                  - name: request-termination
                    config: {status_code: 403, message: "switched off", trigger: X-Off}
              - name: echo
                id: 4f1c2a3b-5d6e-4f70-8a9b-0c1d2e3f4a5b
                paths: [/echo]
                plugins:
                  - name: request-termination
                    config: {status_code: 404, echo: true}
              - name: echo-captures
                paths: ["~/captured/(?<id>\\\\d+)/(\\\\w+)(/x)?$"]
                plugins:
                  - name: request-termination
                    config: {status_code: 200, echo: true}
        """

    @Test func fixedAnswers() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let closed = try TestClient.get(port: gw.proxyPort, "/closed/request")
            #expect(closed.status == 503)
            #expect(closed.text == "{\"message\":\"Service unavailable\"}")
            #expect(closed.header("content-type") == "application/json; charset=utf-8")
            #expect(closed.header("content-length") == "\(closed.body.count)")
            let page = try TestClient.get(port: gw.proxyPort, "/page/request")
            #expect(
                page.status == 200 && page.text == "<h1>maintenance</h1>" && page.header("content-type") == "text/html"
            )
            #expect(try TestClient.get(port: gw.proxyPort, "/triggered/request").status == 200)
            let off = try TestClient.get(port: gw.proxyPort, "/triggered/request", headers: ["X-Off": "1"])
            #expect(off.status == 403 && off.text == "{\"message\":\"switched off\"}")
        }
    }

    /// Kong's echo: the request as the PDK reads it, and the matched route and service.
    @Test func echo() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let client = try TestClient(port: gw.proxyPort)
            let body = "{\"a\":[1,2.5,\"x\"],\"b\":{\"c\":null}}"
            try client.send(
                "POST /echo/x?q=1&q=2&flag HTTP/1.1\r\nHost: example.test\r\nX-Two: 1\r\nX-Two: 2\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
            )
            let r = try client.readResponse()
            #expect(r.status == 404)
            #expect(r.header("content-type") == "application/json; charset=utf-8")
            let json = try #require(r.json)
            #expect(json["message"] as? String == "Not found")
            let kong = json["kong"] as? [String: Any]
            #expect((kong?["node_id"] as? String)?.count == 36)
            let request = try #require(json["request"] as? [String: Any])
            #expect(request["method"] as? String == "POST")
            #expect(request["path"] as? String == "/echo/x")
            #expect(request["host"] as? String == "example.test")
            #expect(request["scheme"] as? String == "http")
            #expect((request["query"] as? [String: Any])?["q"] as? [String] == ["1", "2"])
            #expect((request["query"] as? [String: Any])?["flag"] as? Bool == true)
            #expect((request["headers"] as? [String: Any])?["x-two"] as? [String] == ["1", "2"])
            #expect(request["raw_body"] as? String == body)
            let parsed = request["body"] as? [String: Any]
            #expect((parsed?["a"] as? [Any])?.count == 3)
            #expect(
                (json["matched_route"] as? [String: Any])?["id"] as? String == "4f1c2a3b-5d6e-4f70-8a9b-0c1d2e3f4a5b"
            )
            #expect((json["matched_route"] as? [String: Any])?["paths"] as? [String] == ["/echo"])
            #expect((json["matched_service"] as? [String: Any])?["name"] as? String == "mock")
            // A prefix route has no captures: Kong writes an empty array and an empty object.
            #expect(String(decoding: r.body, as: UTF8.self).contains(#""uri_captures":{"named":{},"unnamed":[]}"#))
        }
    }

    /// kong.request.get_uri_captures(): named groups by name, numbered ones from group 1; a
    /// trailing group that took no part is not there (Kong's router leaves it unset).
    @Test func echoShowsTheRouteCaptures() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let r = try TestClient.get(port: gw.proxyPort, "/captured/42/abc")
            #expect(r.status == 200)
            let captures = try #require((r.json?["request"] as? [String: Any])?["uri_captures"] as? [String: Any])
            #expect(captures["named"] as? [String: String] == ["id": "42"])
            #expect(captures["unnamed"] as? [String] == ["42", "abc"])
        }
    }
}
