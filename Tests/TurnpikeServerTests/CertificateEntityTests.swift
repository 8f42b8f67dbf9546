import Testing
import TurnpikeEngine
import TurnpikeModel
import TurnpikeTestSupport
import TurnpikeYAML

@testable import TurnpikeServer

/// `certificates` and `snis` checked as Kong checks them (kong/db/schema/entities/certificates.lua,
/// snis.lua); the key never shows in a message or a rendering.
@Suite struct CertificateEntityTests {
    static func errors(_ yaml: String) -> [String] {
        switch ConfigLoader().compile(Array(yaml.utf8), file: "k.yaml") {
        case .valid: return []
        case .invalid(let errors): return errors.map(\.description)
        case .unreadable(let message): return [message]
        }
    }

    static func certificate(_ cert: String, _ key: String, extra: String = "") -> String {
        """
        _format_version: "3.0"
        certificates:
          - id: 0e6e8a3c-7b1e-4b8e-8d6a-1f2c3d4e5f61
            cert: |
        \(TestCertificates.yamlBlock(cert, indent: 6))
            key: |
        \(TestCertificates.yamlBlock(key, indent: 6))
        \(extra)
        """
    }

    @Test func aMatchingPairLoadsAndRendersWithItsKeyRedacted() throws {
        let pair = try TestCertificates.mockAuthority.issue(["a.test"])
        let yaml = Self.certificate(pair.certificatePEM, pair.keyPEM, extra: "    snis: [a.test, {name: \"*.a.test\"}]")
        guard case .valid(let snapshot) = ConfigLoader().compile(Array(yaml.utf8), file: "k.yaml") else {
            Issue.record("\(Self.errors(yaml))")
            return
        }
        #expect(snapshot.model.snis.map(\.name) == ["a.test", "*.a.test"])
        let text = YAMLEmitter.emit(snapshot.rendered())
        #expect(text.contains("key: <redacted>"))
        #expect(!text.contains("PRIVATE KEY"))
    }

    @Test func kongsChecksWithoutEverShowingTheKey() throws {
        let a = try TestCertificates.mockAuthority.issue(["a.test"])
        let b = try TestCertificates.mockAuthority.issue(["b.test"])
        let mismatch = Self.errors(Self.certificate(a.certificatePEM, b.keyPEM))
        #expect(mismatch == ["k.yaml:3:5: certificates[0]: certificate does not match key"])
        let badKey = Self.errors(
            Self.certificate(a.certificatePEM, "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----")
        )
        #expect(badKey.count == 1 && badKey[0].contains("certificates[0].key: invalid key: "), "\(badKey)")
        #expect(!badKey[0].contains("c2VjcmV0"))
        let alt = Self.errors(Self.certificate(a.certificatePEM, a.keyPEM, extra: "    cert_alt: x"))
        #expect(alt == ["k.yaml:3:5: certificates[0]: all or none of these fields must be set: 'cert_alt', 'key_alt'"])
    }

    @Test func certAltIsTheOtherKeyTypeAndMatchesItsKey() throws {
        let ca = TestCertificates.mockAuthority
        let ecdsa = try ca.issue(["a.test"])
        let ecdsa2 = try ca.issue(["a.test"])
        let rsa = try ca.issue(["a.test"], rsa: true)
        func alt(_ cert: String, _ key: String) -> String {
            "    cert_alt: |\n\(TestCertificates.yamlBlock(cert, indent: 6))\n    key_alt: |\n\(TestCertificates.yamlBlock(key, indent: 6))"
        }
        #expect(
            Self.errors(
                Self.certificate(ecdsa.certificatePEM, ecdsa.keyPEM, extra: alt(rsa.certificatePEM, rsa.keyPEM))
            ).isEmpty
        )
        #expect(
            Self.errors(
                Self.certificate(ecdsa.certificatePEM, ecdsa.keyPEM, extra: alt(ecdsa2.certificatePEM, ecdsa2.keyPEM))
            )
                == [
                    "k.yaml:3:5: certificates[0]: certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type"
                ]
        )
        #expect(
            Self.errors(
                Self.certificate(ecdsa.certificatePEM, ecdsa.keyPEM, extra: alt(rsa.certificatePEM, ecdsa2.keyPEM))
            )
                == ["k.yaml:3:5: certificates[0]: alternative certificate does not match key"]
        )
    }

    @Test func sniNamesAreCheckedAndUnique() throws {
        let a = try TestCertificates.mockAuthority.issue(["a.test"])
        let errors = Self.errors(
            Self.certificate(a.certificatePEM, a.keyPEM, extra: "    snis: [a.test, \"*.*.test\", 10.0.0.1, a.test]")
        )
        #expect(
            errors.contains { $0.hasSuffix("certificates[0].snis[1]: only one wildcard must be specified") },
            "\(errors)"
        )
        #expect(errors.contains { $0.hasSuffix("certificates[0].snis[2]: must not be an IP") }, "\(errors)")
        #expect(
            errors.contains {
                $0.hasSuffix(
                    "certificates[0].snis[3]: uniqueness violation: 'snis' entity with name set to 'a.test' already declared"
                )
            },
            "\(errors)"
        )
        let dangling = Self.errors(
            """
            _format_version: "3.0"
            snis:
              - name: x.test
                certificate: 11111111-2222-3333-4444-555555555555
            """
        )
        #expect(dangling.count == 1 && dangling[0].contains("no such entry in 'certificates'"), "\(dangling)")
        let plainService = Self.errors(
            Self.certificate(
                a.certificatePEM,
                a.keyPEM,
                extra: """
                    services:
                      - name: s
                        url: http://x.test
                        client_certificate: {id: 0e6e8a3c-7b1e-4b8e-8d6a-1f2c3d4e5f61}
                    """
            )
        )
        #expect(
            plainService.contains { $0.hasSuffix("services[0].client_certificate: value must be null") },
            "\(plainService)"
        )
    }
}
