import Foundation
import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// key-auth reading the key from the request body, over real sockets: the body is held for the
/// plugin, then sent upstream (cut of the key with hide_credentials, with its new length).
@Suite struct KeyInBodyEndToEndTests {
    static let config = """
        _format_version: "3.0"
        services:
          - name: svc
            url: http://{{MOCK}}
            routes:
              - name: hidden
                paths: [/hidden]
                plugins:
                  - name: key-auth
                    config: {key_in_body: true, hide_credentials: true}
              - name: kept
                paths: [/kept]
                plugins:
                  - name: key-auth
                    config: {key_in_body: true}
        consumers:
          - username: alice
            keyauth_credentials:
              - key: secret
        """

    @Test func keyInBody() async throws {
        let gw = try await TestGateway.start(yaml: Self.config)
        do {
            let client = try TestClient(port: gw.proxyPort)
            // Form body, key cut out upstream, Content-Length recomputed.
            let form = "a=1&apikey=secret&b=2"
            try client.send(
                "POST /hidden/request HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\n\r\n\(form)"
            )
            let r1 = try client.readResponse()
            #expect(r1.status == 200)
            #expect(r1.json?["body"] as? String == "a=1&b=2")
            #expect((r1.json?["headers"] as? [String: String])?["content-length"] == "7")
            #expect((r1.json?["headers"] as? [String: String])?["x-consumer-username"] == "alice")
            // Chunked JSON body on the same connection; without hide_credentials the body is unchanged.
            let json = #"{"apikey":"secret","n":1}"#
            let hex = String(json.utf8.count, radix: 16)
            try client.send(
                "POST /kept/request HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\(hex)\r\n\(json)\r\n0\r\n\r\n"
            )
            let r2 = try client.readResponse()
            #expect(r2.status == 200)
            #expect(r2.json?["body"] as? String == json)
            // Expect: 100-continue while the body is held for the plugin: the 100 comes first.
            try client.send(
                "POST /kept/request HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\nContent-Length: 13\r\n\r\n"
            )
            let interim = try client.readRawLine()
            #expect(interim == "HTTP/1.1 100 Continue")
            _ = try client.readRawLine()
            try client.send("apikey=secret")
            #expect(try client.readResponse().status == 200)
            // A wrong key: 401, and the connection stays usable (the held body was consumed).
            let wrong = "apikey=nope"
            try client.send(
                "POST /kept/request HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(wrong.utf8.count)\r\n\r\n\(wrong)"
            )
            let r3 = try client.readResponse()
            #expect(r3.status == 401)
            #expect(r3.json?["message"] as? String == "Unauthorized")
            try client.send("GET /kept/request?apikey=secret HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            // A body over the 8 KiB buffer is not read for a key (Kong: client_body_buffer_size),
            // chunked or not; it still streams upstream when another location has the key.
            let big = "apikey=secret&pad=" + String(repeating: "x", count: 9000)
            try client.send(
                "POST /kept/request HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(big.utf8.count)\r\n\r\n\(big)"
            )
            #expect(try client.readResponse().status == 401)
            try client.send(
                "POST /kept/request HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n\(String(big.utf8.count, radix: 16))\r\n\(big)\r\n0\r\n\r\n"
            )
            #expect(try client.readResponse().status == 401)
            try client.send(
                "POST /kept/request?apikey=secret HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n\(String(big.utf8.count, radix: 16))\r\n\(big)\r\n0\r\n\r\n"
            )
            let r4 = try client.readResponse()
            #expect(r4.status == 200)
            #expect(r4.json?["bodySize"] as? Int == big.utf8.count)
        } catch {
            await gw.stop()
            throw error
        }
        await gw.stop()
    }
}
