import Crypto
import Foundation
import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// hmac-auth through a real gateway (issue #15): a signed request (date and request line), a
/// signed POST with its body's digest, credentials hidden from the upstream, and Kong's refusals.
@Suite struct HMACAuthEndToEndTests {
    static let config = """
        _format_version: "3.0"
        consumers:
          - username: bob
            hmacauth_credentials: [{username: bob, secret: bob-secret}]
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: signed
                paths: [/signed]
                plugins:
                  - name: hmac-auth
                    config: {enforce_headers: [date, request-line], validate_request_body: true, hide_credentials: true}
        """

    static var now: String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: Date())
    }

    static func authorization(_ signed: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array(signed.utf8),
            using: SymmetricKey(data: Array("bob-secret".utf8))
        )
        return
            #"hmac username="bob", algorithm="hmac-sha256", headers="date request-line", signature="\#(Data(mac).base64EncodedString())""#
    }

    @Test func signedRequestsReachTheUpstream() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let date = Self.now
            let get = try TestClient.get(
                port: gw.proxyPort,
                "/signed/request?a=1",
                headers: [
                    "Date": date,
                    "Authorization": Self.authorization("date: \(date)\nGET /signed/request?a=1 HTTP/1.1"),
                ]
            )
            #expect(get.status == 200)
            let headers = try #require(get.json?["headers"] as? [String: Any])
            #expect(headers["x-consumer-username"] as? String == "bob")
            #expect(headers["x-credential-identifier"] as? String == "bob")
            #expect(headers["authorization"] == nil)

            // A POST with its digest; then the same signature over another body.
            let body = #"{"amount":10}"#
            let digest = "SHA-256=" + Data(SHA256.hash(data: Array(body.utf8))).base64EncodedString()
            let auth = Self.authorization("date: \(date)\nPOST /signed/request HTTP/1.1")
            func post(_ payload: String) throws -> TestClient.Response {
                let client = try TestClient(port: gw.proxyPort)
                try client.send(
                    "POST /signed/request HTTP/1.1\r\nHost: x\r\nDate: \(date)\r\nAuthorization: \(auth)\r\n"
                        + "Digest: \(digest)\r\nContent-Type: application/json\r\nContent-Length: \(payload.utf8.count)\r\n\r\n"
                        + payload
                )
                return try client.readResponse()
            }
            #expect(try post(body).status == 200)
            let tampered = try post(#"{"amount":99}"#)
            #expect(tampered.status == 401)
            #expect(tampered.json?["message"] as? String == "HMAC signature does not match")

            let unsigned = try TestClient.get(port: gw.proxyPort, "/signed/request")
            #expect(unsigned.status == 401)
            #expect(unsigned.header("www-authenticate") == "hmac")
            let stale = try TestClient.get(
                port: gw.proxyPort,
                "/signed/request",
                headers: ["Date": "Mon, 01 Jan 2001 00:00:00 GMT", "Authorization": "hmac x"]
            )
            #expect(
                stale.json?["message"] as? String
                    == "HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication"
            )
            // The admin API shows the username, never the secret.
            let admin = try TestClient.get(port: gw.adminPort, "/hmac-auths/bob")
            #expect(admin.status == 200)
            #expect(!String(decoding: admin.body, as: UTF8.self).contains("bob-secret"))
        }
    }
}
