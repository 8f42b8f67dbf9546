import Crypto
import Foundation
import SwiftASN1
import TurnpikeServer
import X509
import _CryptoExtras

/// Certificates tests make for themselves (PEM text, to write into files or configs).
public enum TestCertificates {
    public struct Pair: Sendable {
        public var certificatePEM: String
        public var keyPEM: String
    }

    /// A self-signed ECDSA P-256 certificate for `commonName` (also its DNS name), valid a day.
    public static func selfSigned(commonName: String) throws -> Pair {
        let pem = try ServerCertificate.selfSignedPEM(commonName: commonName, validFor: 86_400)
        return Pair(certificatePEM: pem.certificate, keyPEM: pem.key)
    }

    /// A test certificate authority: it issues server certificates for names.
    public struct Authority: Sendable {
        let certificate: Certificate
        /// The signing key's raw bytes (the key type itself is not Sendable).
        let keyBytes: Data
        public let certificatePEM: String

        /// A new CA (P-256), valid from an hour ago for `validFor` seconds (negative: already
        /// expired).
        public init(commonName: String, validFor: Double = 86_400) throws {
            let key = P256.Signing.PrivateKey()
            let name = try DistinguishedName { CommonName(commonName) }
            let now = Date()
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: Certificate.PublicKey(key.publicKey),
                notValidBefore: now.addingTimeInterval(min(-3600, validFor - 3600)),
                notValidAfter: now.addingTimeInterval(validFor),
                issuer: name,
                subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                },
                issuerPrivateKey: Certificate.PrivateKey(key)
            )
            self.certificate = certificate
            self.keyBytes = key.rawRepresentation
            self.certificatePEM = try certificate.serializeAsPEM().pemString
        }

        /// An intermediate CA under this one.
        public func intermediate(commonName: String) throws -> Authority {
            let key = P256.Signing.PrivateKey()
            let now = Date()
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: Certificate.PublicKey(key.publicKey),
                notValidBefore: now.addingTimeInterval(-3600),
                notValidAfter: now.addingTimeInterval(86_400),
                issuer: self.certificate.subject,
                subject: try DistinguishedName { CommonName(commonName) },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                },
                issuerPrivateKey: Certificate.PrivateKey(try P256.Signing.PrivateKey(rawRepresentation: self.keyBytes))
            )
            return Authority(certificate: certificate, keyBytes: key.rawRepresentation)
        }

        init(certificate: Certificate, keyBytes: Data) {
            self.certificate = certificate
            self.keyBytes = keyBytes
            self.certificatePEM = (try? certificate.serializeAsPEM().pemString) ?? ""
        }

        /// A server certificate for `names` (the first is also the common name), signed here.
        public func issue(_ names: [String], rsa: Bool = false) throws -> Pair {
            let publicKey: Certificate.PublicKey
            let keyPEM: String
            if rsa {
                let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
                publicKey = Certificate.PublicKey(key.publicKey)
                keyPEM = key.pemRepresentation
            } else {
                let key = P256.Signing.PrivateKey()
                publicKey = Certificate.PublicKey(key.publicKey)
                keyPEM = key.pemRepresentation
            }
            let subject = try DistinguishedName { CommonName(names.first ?? "localhost") }
            let now = Date()
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: publicKey,
                notValidBefore: now.addingTimeInterval(-3600),
                notValidAfter: now.addingTimeInterval(86_400),
                issuer: self.certificate.subject,
                subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    SubjectAlternativeNames(names.map { .dnsName($0) })
                },
                issuerPrivateKey: Certificate.PrivateKey(try P256.Signing.PrivateKey(rawRepresentation: self.keyBytes))
            )
            return Pair(certificatePEM: try certificate.serializeAsPEM().pemString, keyPEM: keyPEM)
        }
    }

    /// The authority behind `TestGateway`'s TLS mock upstream.
    public static let mockAuthority: Authority = {
        do {
            return try Authority(commonName: "Turnpike Test CA")
        } catch {
            fatalError("cannot make the test CA: \(error)")
        }
    }()

    /// `pem` indented for a YAML block scalar.
    public static func yamlBlock(_ pem: String, indent: Int) -> String {
        let pad = String(repeating: " ", count: indent)
        return pem.split(separator: "\n").map { pad + $0 }.joined(separator: "\n")
    }
}
