import Foundation
import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// HTTPS upstreams (issue #12): `protocol: https` services proxied over TLS with Kong's service
/// fields (kong/runloop/upstream_ssl.lua), the server name Kong sends (`proxy_ssl_name
/// $upstream_host`, kong/templates/nginx_kong.lua) and pooling per TLS identity. The upstream is
/// the echo mock over TLS, with a self-signed certificate for `localhost`.
@Suite struct HTTPSUpstreamEndToEndTests {
    static let config = """
        _format_version: "3.0"
        services:
          - name: by-name
            url: https://localhost:{{MOCK_TLS_PORT}}
            routes:
              - name: by-name
                paths: [/by-name]
          - name: by-ip
            url: https://127.0.0.1:{{MOCK_TLS_PORT}}
            routes:
              - name: by-ip
                paths: [/by-ip]
          - name: verified
            url: https://localhost:{{MOCK_TLS_PORT}}
            tls_verify: true
            routes:
              - name: verified
                paths: [/verified]
          - name: preserved
            url: https://localhost:{{MOCK_TLS_PORT}}
            routes:
              - name: preserved
                paths: [/preserved]
                preserve_host: true
          - name: not-tls
            url: https://{{MOCK}}
            connect_timeout: 500
            retries: 0
            routes:
              - name: not-tls
                paths: [/not-tls]
        """

    @Test func proxiesToAnHTTPSTargetWithTheHostAsServerName() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let r = try TestClient.get(port: gw.proxyPort, "/by-name/request?a=1")
            #expect(r.status == 200, "\(r.text)")
            let echo = try #require(r.json)
            #expect(echo["url"] as? String == "https://localhost:\(gw.tlsMockPort)/request?a=1")
            #expect((echo["tls"] as? [String: Any])?["server_name"] as? String == "localhost")
            // An IP address is never sent as a server name.
            let byIP = try TestClient.get(port: gw.proxyPort, "/by-ip/request")
            #expect(byIP.status == 200)
            #expect((byIP.json?["tls"] as? [String: Any])?["server_name"] is NSNull)
        }
    }

    @Test func connectionsArePooledPerServerName() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            // Alternating on one keep-alive client connection: the same target IP and port, two
            // server names; a pooled connection never carries a request under the other's name.
            let client = try TestClient(port: gw.proxyPort)
            for i in 0..<6 {
                let path = i.isMultiple(of: 2) ? "/by-name/request" : "/by-ip/request"
                try client.send("GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n")
                let r = try client.readResponse()
                #expect(r.status == 200)
                let name = (r.json?["tls"] as? [String: Any])?["server_name"]
                if i.isMultiple(of: 2) {
                    #expect(name as? String == "localhost", "request \(i)")
                } else {
                    #expect(name is NSNull, "request \(i)")
                }
            }
        }
    }

    @Test func thePreservedClientHostIsTheServerName() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let r = try TestClient.get(
                port: gw.proxyPort,
                "/preserved/request",
                headers: ["Host": "api.example.test:8000"]
            )
            #expect(r.status == 200)
            #expect((r.json?["tls"] as? [String: Any])?["server_name"] as? String == "api.example.test")
        }
    }

    /// Two CAs: the mock's own and another; services trusting each.
    static func caConfig() throws -> String {
        let other = try TestCertificates.Authority(commonName: "Other CA")
        return """
            _format_version: "3.0"
            ca_certificates:
              - id: 7e1f1b2a-53c5-4d77-9a0b-5e1c0f2f0a01
                cert: |
            \(TestCertificates.yamlBlock(TestCertificates.mockAuthority.certificatePEM, indent: 6))
              - id: 7e1f1b2a-53c5-4d77-9a0b-5e1c0f2f0a02
                cert: |
            \(TestCertificates.yamlBlock(other.certificatePEM, indent: 6))
            services:
              - name: right-ca
                url: https://localhost:{{MOCK_TLS_PORT}}
                tls_verify: true
                ca_certificates: [7e1f1b2a-53c5-4d77-9a0b-5e1c0f2f0a01]
                routes:
                  - name: right-ca
                    paths: [/right-ca]
              - name: wrong-ca
                url: https://localhost:{{MOCK_TLS_PORT}}
                tls_verify: true
                ca_certificates: [7e1f1b2a-53c5-4d77-9a0b-5e1c0f2f0a02]
                routes:
                  - name: wrong-ca
                    paths: [/wrong-ca]
              - name: wrong-name
                url: https://127.0.0.1:{{MOCK_TLS_PORT}}
                host: 127.0.0.1
                tls_verify: true
                ca_certificates: [7e1f1b2a-53c5-4d77-9a0b-5e1c0f2f0a01]
                routes:
                  - name: wrong-name
                    paths: [/wrong-name]
                    preserve_host: true
              - name: unverified
                url: https://localhost:{{MOCK_TLS_PORT}}
                ca_certificates: [7e1f1b2a-53c5-4d77-9a0b-5e1c0f2f0a02]
                routes:
                  - name: unverified
                    paths: [/unverified]
            """
    }

    @Test func caCertificatesAreTheTrustStoreOfAVerifyingService() async throws {
        try await TestGateway.with(yaml: try Self.caConfig()) { gw in
            let right = try TestClient.get(port: gw.proxyPort, "/right-ca/request")
            #expect(right.status == 200, "\(right.text)")
            #expect((right.json?["tls"] as? [String: Any])?["server_name"] as? String == "localhost")
            #expect(try TestClient.get(port: gw.proxyPort, "/wrong-ca/request").status == 502)
            // The right CA, but the name sent is not the certificate's.
            let wrongName = try TestClient.get(
                port: gw.proxyPort,
                "/wrong-name/request",
                headers: ["Host": "other.test"]
            )
            #expect(wrongName.status == 502)
            // Without tls_verify nothing is verified, whatever the CAs.
            #expect(try TestClient.get(port: gw.proxyPort, "/unverified/request").status == 200)
            // Kong's admin listing; a CA certificate is public and shown whole.
            let admin = try TestClient.get(port: gw.adminPort, "/ca_certificates")
            let data = try #require(admin.json?["data"] as? [[String: Any]])
            #expect(data.count == 2)
            let digest = try #require(data.first?["cert_digest"] as? String)
            #expect(digest.count == 64 && digest.allSatisfy(\.isHexDigit))
            #expect((data.first?["cert"] as? String)?.hasPrefix("-----BEGIN CERTIFICATE-----") == true)
        }
    }

    @Test func aFailedVerificationOrHandshakeIsKongs502() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            // tls_verify against the system trust store: the mock's self-signed certificate fails.
            let verified = try TestClient.get(port: gw.proxyPort, "/verified/request", headers: ["Accept": "*/*"])
            #expect(verified.status == 502, "\(verified.text)")
            #expect(verified.json?["message"] as? String == "An invalid response was received from the upstream server")
            // A target that does not speak TLS at all.
            let plain = try TestClient.get(port: gw.proxyPort, "/not-tls/request")
            #expect(plain.status == 502)
            // The gateway goes on serving.
            #expect(try TestClient.get(port: gw.proxyPort, "/by-name/request").status == 200)
        }
    }
}
