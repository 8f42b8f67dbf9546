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
}
