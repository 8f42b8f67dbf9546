import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// request-size-limiting through a real gateway: a declared length over the limit never reaches
/// the upstream; a chunked body is counted as it streams and cut at the limit.
@Suite struct RequestSizeLimitingEndToEndTests {
    static let config = """
        _format_version: "3.0"
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: upload
                paths: [/upload]
                plugins:
                  - name: request-size-limiting
                    config: {allowed_payload_size: 16, size_unit: bytes}
              - name: keyed
                paths: [/keyed]
                plugins:
                  - name: key-auth
                    config: {key_in_body: true, hide_credentials: true}
                  - name: request-size-limiting
                    config: {allowed_payload_size: 16, size_unit: bytes}
        consumers:
          - username: alice
            keyauth_credentials: [{key: k}]
        """

    @Test func declaredAndStreamedBodies() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let over = try TestClient(port: gw.proxyPort)
            try over.send(
                "POST /upload/request HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\nAccept: application/json\r\n\r\n"
            )
            let refused = try over.readResponse()
            #expect(refused.status == 413)
            #expect(refused.json?["message"] as? String == "Request size limit exceeded")

            // Chunked, within the limit: proxied whole.
            let fits = try TestClient(port: gw.proxyPort)
            try fits.send(
                "POST /upload/request HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "8\r\n12345678\r\n8\r\nabcdefgh\r\n0\r\n\r\n"
            )
            let ok = try fits.readResponse()
            #expect(ok.status == 200)
            #expect(ok.json?["body"] as? String == "12345678abcdefgh")

            // Chunked, past the limit: cut at the byte that crosses it, 413, connection closed.
            let big = try TestClient(port: gw.proxyPort)
            try big.send(
                "POST /upload/request HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nAccept: application/json\r\n\r\n"
                    + "8\r\n12345678\r\n9\r\nabcdefghi\r\n"
            )
            let cut = try big.readResponse()
            #expect(cut.status == 413)
            #expect(cut.header("connection") == "close")
            #expect(cut.json?["message"] as? String == "Request size limit exceeded")
        }
    }

    /// A body key-auth rewrote (hide_credentials) is still held to the limit.
    @Test func aRewrittenBodyIsLimitedToo() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let body = "apikey=k&data=12345678901234567890"
            let client = try TestClient(port: gw.proxyPort)
            try client.send(
                "POST /keyed/request HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                    + "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
                    + String(body.utf8.count, radix: 16) + "\r\n" + body + "\r\n0\r\n\r\n"
            )
            #expect(try client.readResponse().status == 413)
        }
    }
}
