import Foundation
import NIOSSL
import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// `certificates` and `snis` (issue #12): the listener's certificate chosen by the client's server
/// name with Kong's rules (kong/runloop/certificate.lua), swapped by reload for new handshakes
/// only, listed by the admin API with keys redacted; a service's `client_certificate` presented to
/// an upstream that demands one.
@Suite struct CertificatesEndToEndTests {
    static func entity(_ pair: TestCertificates.Pair, id: String, snis: [String]) -> String {
        """
          - id: \(id)
            cert: |
        \(TestCertificates.yamlBlock(pair.certificatePEM, indent: 6))
            key: |
        \(TestCertificates.yamlBlock(pair.keyPEM, indent: 6))
            snis: [\(snis.joined(separator: ", "))]
        """
    }

    static func config(certificates: [String]) -> String {
        """
        _format_version: "3.0"
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: open
                paths: [/open]
          - name: mtls
            url: https://localhost:{{MOCK_MTLS_PORT}}
            client_certificate: 3c8f6a0e-1d2b-4c3d-9e4f-5a6b7c8d9e01
            routes:
              - name: mtls
                paths: [/mtls]
          - name: no-client-certificate
            url: https://localhost:{{MOCK_MTLS_PORT}}
            retries: 0
            routes:
              - name: no-client-certificate
                paths: [/no-client-certificate]
        certificates:
        \(certificates.joined(separator: "\n"))
        """
    }

    static func name(_ certificate: NIOSSLCertificate?) -> String { certificate.map { "\($0)" } ?? "none" }

    @Test func theCertificateIsChosenByServerNameWithKongsRules() async throws {
        let ca = TestCertificates.mockAuthority
        let yaml = Self.config(certificates: [
            Self.entity(try ca.issue(["exact.test"]), id: "3c8f6a0e-1d2b-4c3d-9e4f-5a6b7c8d9e01", snis: ["exact.test"]),
            Self.entity(
                try ca.issue(["wild.example.test"]),
                id: "3c8f6a0e-1d2b-4c3d-9e4f-5a6b7c8d9e02",
                snis: ["\"*.example.test\""]
            ),
            Self.entity(
                try ca.issue(["suffix.any"]),
                id: "3c8f6a0e-1d2b-4c3d-9e4f-5a6b7c8d9e03",
                snis: ["\"suffix.*\""]
            ),
        ])
        try await TestGateway.with(yaml: yaml, certificate: try ServerCertificate.selfSigned()) { gw in
            let tls = try #require(gw.proxyTLSPort)
            func presented(_ name: String?) async throws -> String {
                let r = try await TLSTestClient.request(port: tls, path: "/open/x", serverName: name)
                #expect(r.status == 200)
                return Self.name(r.peerCertificate)
            }
            #expect(try await presented("exact.test").contains("common_name=exact.test"))
            #expect(try await presented("EXACT.test").contains("common_name=exact.test"))
            #expect(try await presented("api.example.test").contains("common_name=wild.example.test"))
            #expect(try await presented("suffix.org").contains("common_name=suffix.any"))
            // No entry applies: the listener's own (self-signed for localhost).
            #expect(try await presented("other.test").contains("localhost"))
            #expect(try await presented(nil).contains("localhost"))
            // The client that trusts the test CA verifies the chosen certificate for its name.
            let verified = try await TLSTestClient.request(
                port: tls,
                path: "/open/x",
                serverName: "exact.test",
                trustRoots: [try NIOSSLCertificate(bytes: Array(ca.certificatePEM.utf8), format: .pem)]
            )
            #expect(verified.status == 200)
        }
    }

    @Test func certAltServesRSAClientsFromTheSameEntity() async throws {
        let ca = TestCertificates.mockAuthority
        let ecdsa = try ca.issue(["dual.test"])
        let rsa = try ca.issue(["dual-rsa.test"], rsa: true)
        let entity = """
              - id: 3c8f6a0e-1d2b-4c3d-9e4f-5a6b7c8d9e01
                cert: |
            \(TestCertificates.yamlBlock(ecdsa.certificatePEM, indent: 6))
                key: |
            \(TestCertificates.yamlBlock(ecdsa.keyPEM, indent: 6))
                cert_alt: |
            \(TestCertificates.yamlBlock(rsa.certificatePEM, indent: 6))
                key_alt: |
            \(TestCertificates.yamlBlock(rsa.keyPEM, indent: 6))
                snis: [dual.test]
            """
        try await TestGateway.with(
            yaml: Self.config(certificates: [entity]),
            certificate: try ServerCertificate.selfSigned()
        ) {
            gw in
            let tls = try #require(gw.proxyTLSPort)
            let modern = try await TLSTestClient.request(port: tls, path: "/open/x", serverName: "dual.test")
            #expect(Self.name(modern.peerCertificate).contains("common_name=dual.test;"))
            let rsaOnly = try await TLSTestClient.request(
                port: tls,
                path: "/open/x",
                serverName: "dual.test",
                signatureAlgorithms: [.rsaPssRsaeSha256, .rsaPkcs1Sha256]
            )
            #expect(rsaOnly.status == 200)
            #expect(Self.name(rsaOnly.peerCertificate).contains("common_name=dual-rsa.test"))
            // The key_alt is a secret too.
            let admin = try TestClient.get(port: gw.adminPort, "/certificates")
            let listed = try #require((admin.json?["data"] as? [[String: Any]])?.first)
            #expect(listed["key_alt"] as? String == "<redacted>")
            #expect((listed["cert_alt"] as? String)?.hasPrefix("-----BEGIN CERTIFICATE-----") == true)
        }
    }

    @Test func reloadSwapsCertificatesForNewHandshakesOnly() async throws {
        let ca = TestCertificates.mockAuthority
        let first = Self.config(certificates: [
            Self.entity(try ca.issue(["first.test"]), id: "3c8f6a0e-1d2b-4c3d-9e4f-5a6b7c8d9e01", snis: ["exact.test"])
        ])
        let second = Self.config(certificates: [
            Self.entity(try ca.issue(["second.test"]), id: "3c8f6a0e-1d2b-4c3d-9e4f-5a6b7c8d9e01", snis: ["exact.test"])
        ])
        try await TestGateway.with(yaml: first, certificate: try ServerCertificate.selfSigned()) { gw in
            let tls = try #require(gw.proxyTLSPort)
            let old = try await TLSTestClient.Session.open(port: tls, serverName: "exact.test")
            defer { old.close() }
            #expect(try await old.request(path: "/open/x").status == 200)
            #expect(Self.name(try await old.peerCertificate()).contains("common_name=first.test"))

            try gw.writeConfig(second)
            _ = await gw.reloader.reload()
            let fresh = try await TLSTestClient.request(port: tls, path: "/open/x", serverName: "exact.test")
            #expect(Self.name(fresh.peerCertificate).contains("common_name=second.test"))
            // The connection made before the reload keeps its certificate and goes on serving.
            #expect(try await old.request(path: "/open/x").status == 200)
            #expect(Self.name(try await old.peerCertificate()).contains("common_name=first.test"))
        }
    }

    @Test func theAdminAPIListsCertificatesAndSnisWithKeysRedacted() async throws {
        let pair = try TestCertificates.mockAuthority.issue(["exact.test"])
        let yaml = Self.config(certificates: [
            Self.entity(pair, id: "3c8f6a0e-1d2b-4c3d-9e4f-5a6b7c8d9e01", snis: ["exact.test", "\"*.exact.test\""])
        ])
        try await TestGateway.with(yaml: yaml) { gw in
            let list = try TestClient.get(port: gw.adminPort, "/certificates")
            let certificate = try #require((list.json?["data"] as? [[String: Any]])?.first)
            #expect(certificate["key"] as? String == "<redacted>")
            #expect(certificate["snis"] as? [String] == ["exact.test", "*.exact.test"])
            #expect((certificate["cert"] as? String)?.hasPrefix("-----BEGIN CERTIFICATE-----") == true)
            #expect(!list.text.contains("PRIVATE KEY"))
            let one = try TestClient.get(port: gw.adminPort, "/certificates/3c8f6a0e-1d2b-4c3d-9e4f-5a6b7c8d9e01")
            #expect(one.status == 200 && !one.text.contains("PRIVATE KEY"))
            let snis = try TestClient.get(port: gw.adminPort, "/certificates/3c8f6a0e-1d2b-4c3d-9e4f-5a6b7c8d9e01/snis")
            #expect((snis.json?["data"] as? [[String: Any]])?.count == 2)
            let byName = try TestClient.get(port: gw.adminPort, "/snis/exact.test")
            #expect(byName.status == 200)
            #expect(
                (byName.json?["certificate"] as? [String: Any])?["id"] as? String
                    == "3c8f6a0e-1d2b-4c3d-9e4f-5a6b7c8d9e01"
            )
            #expect((try TestClient.get(port: gw.adminPort, "/snis").json?["data"] as? [Any])?.count == 2)
            // The whole config as the admin API serves it: no key either.
            let config = try TestClient.get(port: gw.adminPort, "/config")
            #expect(config.status == 200 && !config.text.contains("PRIVATE KEY"))
        }
    }

    @Test func aServicesClientCertificateIsPresentedToTheUpstream() async throws {
        let yaml = Self.config(certificates: [
            Self.entity(
                try TestCertificates.mockAuthority.issue(["gateway.test"]),
                id: "3c8f6a0e-1d2b-4c3d-9e4f-5a6b7c8d9e01",
                snis: []
            )
        ])
        try await TestGateway.with(yaml: yaml) { gw in
            let r = try TestClient.get(port: gw.proxyPort, "/mtls/request")
            #expect(r.status == 200, "\(r.text)")
            // The same upstream, no certificate offered: its handshake fails, Kong's 502.
            #expect(try TestClient.get(port: gw.proxyPort, "/no-client-certificate/request").status == 502)
        }
    }
}
