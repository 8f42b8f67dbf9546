import Crypto
import Foundation
import Testing
import TurnpikeServer
import TurnpikeTestSupport
import _CryptoExtras

/// jwt through a real gateway (issue #15): consumers authenticating with HS256 and RS256 tokens,
/// the credentials in the admin API (secrets never shown), and jwt + key-auth + anonymous + acl
/// on one route, as Kong's docs combine them.
@Suite struct JWTEndToEndTests {
    static let rsa = try! _RSA.Signing.PrivateKey(keySize: .bits2048)

    static func b64url(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func token(_ claims: String, alg: String, sign: ([UInt8]) throws -> [UInt8]) rethrows -> String {
        let input = b64url(Array(#"{"typ":"JWT","alg":"\#(alg)"}"#.utf8)) + "." + b64url(Array(claims.utf8))
        return input + "." + b64url(try sign(Array(input.utf8)))
    }

    static func hs256(_ claims: String, secret: String) -> String {
        Self.token(claims, alg: "HS256") {
            Array(HMAC<SHA256>.authenticationCode(for: $0, using: SymmetricKey(data: Array(secret.utf8))))
        }
    }

    static func rs256(_ claims: String) throws -> String {
        try Self.token(claims, alg: "RS256") {
            Array(try Self.rsa.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation)
        }
    }

    static var config: String {
        """
        _format_version: "3.0"
        consumers:
          - username: alice
            jwt_secrets:
              - {key: alice-hs, secret: alice-hs-secret}
              - {key: alice-rs, algorithm: RS256, rsa_public_key: \(Self.rsa.publicKey.pemRepresentation.debugDescription)}
            keyauth_credentials: [{key: alice-key}]
            acls: [{group: users}]
          - username: anonymous
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: jwt
                paths: [/jwt]
                plugins:
                  - name: jwt
                    config: {claims_to_verify: [exp]}
              - name: either
                paths: [/either]
                plugins:
                  - name: jwt
                    config: {anonymous: anonymous}
                  - name: key-auth
                    config: {anonymous: anonymous}
                  - name: acl
                    config: {allow: [users]}
        """
    }

    @Test func hs256AndRs256Tokens() async throws {
        let exp = Int(Date().timeIntervalSince1970) + 600
        try await TestGateway.with(yaml: Self.config) { gw in
            let hs = Self.hs256(#"{"iss":"alice-hs","exp":\#(exp)}"#, secret: "alice-hs-secret")
            let r = try TestClient.get(port: gw.proxyPort, "/jwt/request", headers: ["Authorization": "Bearer " + hs])
            #expect(r.status == 200)
            let headers = try #require(r.json?["headers"] as? [String: Any])
            #expect(headers["x-consumer-username"] as? String == "alice")
            #expect(headers["x-credential-identifier"] as? String == "alice-hs")
            #expect(headers["authorization"] as? String == "Bearer " + hs)

            let rs = try Self.rs256(#"{"iss":"alice-rs","exp":\#(exp)}"#)
            let viaQuery = try TestClient.get(port: gw.proxyPort, "/jwt/request?jwt=" + rs)
            #expect(viaQuery.status == 200)
            #expect((viaQuery.json?["headers"] as? [String: Any])?["x-credential-identifier"] as? String == "alice-rs")

            let none = try TestClient.get(port: gw.proxyPort, "/jwt/request")
            #expect(none.status == 401)
            #expect(none.header("www-authenticate") == "Bearer")
            #expect(String(decoding: none.body, as: UTF8.self) == #"{"message":"Unauthorized"}"#)
            #expect(none.header("content-type") == "application/json; charset=utf-8")

            let expired = Self.hs256(#"{"iss":"alice-hs","exp":1}"#, secret: "alice-hs-secret")
            let old = try TestClient.get(
                port: gw.proxyPort,
                "/jwt/request",
                headers: ["Authorization": "Bearer " + expired]
            )
            #expect(old.status == 401)
            #expect(old.json?["exp"] as? String == "token expired")
            #expect(old.header("www-authenticate") == #"Bearer error="invalid_token""#)

            let forged = Self.hs256(#"{"iss":"alice-hs","exp":\#(exp)}"#, secret: "guess")
            let bad = try TestClient.get(
                port: gw.proxyPort,
                "/jwt/request",
                headers: ["Authorization": "Bearer " + forged]
            )
            #expect(bad.status == 401 && bad.json?["message"] as? String == "Invalid signature")

            // The admin API shows keys, never secrets.
            let admin = try TestClient.get(port: gw.adminPort, "/consumers/alice/jwt")
            #expect(admin.status == 200)
            let text = String(decoding: admin.body, as: UTF8.self)
            #expect(text.contains("alice-hs") && !text.contains("alice-hs-secret") && text.contains("<redacted>"))
            #expect(try TestClient.get(port: gw.adminPort, "/jwts/alice-rs").status == 200)
        }
    }

    /// Kong's "multiple authentication" recipe: each auth plugin with `anonymous`, the request
    /// passes when any one identifies the consumer, and acl then decides.
    @Test func jwtKeyAuthAnonymousAndACL() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let hs = Self.hs256(#"{"iss":"alice-hs"}"#, secret: "alice-hs-secret")
            func get(_ headers: [String: String]) throws -> TestClient.Response {
                try TestClient.get(port: gw.proxyPort, "/either/request", headers: headers)
            }
            let byJWT = try get(["Authorization": "Bearer " + hs])
            #expect(byJWT.status == 200)
            #expect((byJWT.json?["headers"] as? [String: Any])?["x-credential-identifier"] as? String == "alice-hs")
            let byKey = try get(["apikey": "alice-key"])
            #expect(byKey.status == 200)
            #expect((byKey.json?["headers"] as? [String: Any])?["x-consumer-username"] as? String == "alice")
            // A bad token, a good key: key-auth identifies alice after jwt fell back to anonymous.
            let mixed = try get(["Authorization": "Bearer nope", "apikey": "alice-key"])
            #expect(mixed.status == 200)
            #expect((mixed.json?["headers"] as? [String: Any])?["x-anonymous-consumer"] == nil)
            // Nobody: the anonymous consumer, without groups, which Kong's acl answers 401 (an
            // anonymous consumer is not authenticated).
            let nobody = try get([:])
            #expect(nobody.status == 401)
            #expect(nobody.json?["message"] as? String == "Unauthorized")
        }
    }
}
