import Testing
import TurnpikeEngine
import TurnpikeModel
import TurnpikeTestSupport

@testable import TurnpikeServer

/// `ca_certificates` and a service's references to them, checked as Kong checks them
/// (kong/db/schema/entities/ca_certificates.lua, services.lua).
@Suite struct CACertificateTests {
    static func errors(_ yaml: String) -> [String] {
        switch ConfigLoader().compile(Array(yaml.utf8), file: "k.yaml") {
        case .valid: return []
        case .invalid(let errors): return errors.map(\.description)
        case .unreadable(let message): return [message]
        }
    }

    static func config(_ cert: String, extra: String = "", service: String = "") -> String {
        """
        _format_version: "3.0"
        ca_certificates:
          - id: 0e6e8a3c-7b1e-4b8e-8d6a-1f2c3d4e5f60
            cert: |
        \(TestCertificates.yamlBlock(cert, indent: 6))
        \(extra)
        \(service)
        """
    }

    @Test func aValidCAIsLoadedWithItsDigestAndReferencedByAService() throws {
        let ca = try TestCertificates.Authority(commonName: "Unit CA")
        let yaml = Self.config(
            ca.certificatePEM,
            service: """
                services:
                  - name: s
                    url: https://example.test
                    tls_verify: true
                    ca_certificates: [0e6e8a3c-7b1e-4b8e-8d6a-1f2c3d4e5f60]
                    routes:
                      - paths: [/]
                """
        )
        guard case .valid(let snapshot) = ConfigLoader().compile(Array(yaml.utf8), file: "k.yaml") else {
            Issue.record("\(Self.errors(yaml))")
            return
        }
        let entity = try #require(snapshot.model.caCertificates.first)
        #expect(entity.certDigest.count == 64)
        let plan = try #require(snapshot.routePlans.first?.service)
        #expect(plan.tls == UpstreamTLS(verify: true, trust: [ca.certificatePEM + "\n"]))
    }

    @Test func kongsCertificateChecks() throws {
        let ca = try TestCertificates.Authority(commonName: "Unit CA")
        let leaf = try ca.issue(["leaf.test"])
        let expired = try TestCertificates.Authority(commonName: "Old CA", validFor: -60)
        let garbage = Self.errors(Self.config("not a certificate"))
        #expect(
            garbage.count == 1 && garbage[0].hasPrefix("k.yaml:4:11: ca_certificates[0].cert: invalid certificate"),
            "\(garbage)"
        )
        #expect(
            Self.errors(Self.config(leaf.certificatePEM)) == [
                "k.yaml:3:5: ca_certificates[0]: certificate does not appear to be a CA because it is missing the \"CA\" basic constraint"
            ]
        )
        #expect(
            Self.errors(Self.config(ca.certificatePEM + ca.certificatePEM)) == [
                "k.yaml:3:5: ca_certificates[0]: please submit only one certificate at a time"
            ]
        )
        #expect(
            Self.errors(Self.config(expired.certificatePEM)) == [
                "k.yaml:3:5: ca_certificates[0]: certificate expired, \"Not After\" time is in the past"
            ]
        )
        let digestErrors = Self.errors(Self.config(ca.certificatePEM, extra: "    cert_digest: abc"))
        #expect(digestErrors.count == 1 && digestErrors[0].contains("cert_digest: does not match the certificate"))
    }

    @Test func servicesReferToCAsOfTheFileOnlyOverHTTPS() throws {
        let ca = try TestCertificates.Authority(commonName: "Unit CA")
        let missing = Self.errors(
            Self.config(
                ca.certificatePEM,
                service: """
                    services:
                      - name: s
                        url: https://example.test
                        ca_certificates: [11111111-2222-3333-4444-555555555555]
                    """
            )
        )
        #expect(
            missing.contains {
                $0.hasSuffix(
                    "services[0].ca_certificates[0]: invalid reference 'ca_certificates: 11111111-2222-3333-4444-555555555555' (no such entry in 'ca_certificates')"
                )
            },
            "\(missing)"
        )
        let plain = Self.errors(
            Self.config(
                ca.certificatePEM,
                service: """
                    services:
                      - name: s
                        url: http://example.test
                        ca_certificates: [0e6e8a3c-7b1e-4b8e-8d6a-1f2c3d4e5f60]
                    """
            )
        )
        #expect(plain.contains { $0.hasSuffix("services[0].ca_certificates: value must be null") }, "\(plain)")
        // The same CA twice (the digest is unique).
        let twice = Self.errors(
            """
            _format_version: "3.0"
            ca_certificates:
              - cert: |
            \(TestCertificates.yamlBlock(ca.certificatePEM, indent: 6))
              - cert: |
            \(TestCertificates.yamlBlock(ca.certificatePEM, indent: 6))
            """
        )
        #expect(
            twice.count == 1
                && twice[0].contains("uniqueness violation: 'ca_certificates' entity with cert_digest set to")
        )
    }
}
