import Crypto
import Foundation
public import NIOSSL
import SwiftASN1
public import TurnpikeModel
import X509

/// A certificate chain and its private key, as a TLS listener presents them: Kong's `ssl_cert` /
/// `ssl_cert_key` (`--ssl-cert`, `--ssl-cert-key`), or one generated at start.
public struct ServerCertificate: Sendable {
    public var chain: [NIOSSLCertificate]
    public var key: NIOSSLPrivateKey

    public init(chain: [NIOSSLCertificate], key: NIOSSLPrivateKey) {
        self.chain = chain
        self.key = key
    }

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads a PEM chain (leaf first) and its PEM key from files.
    public static func load(certificateFile: String, keyFile: String) throws(Invalid) -> ServerCertificate {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw Invalid(description: "\(certificateFile): cannot read a PEM certificate (\(error))")
        }
        guard !chain.isEmpty else { throw Invalid(description: "\(certificateFile): no PEM certificate in the file") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw Invalid(description: "\(keyFile): cannot read a PEM private key (\(error))")
        }
        let certificate = ServerCertificate(chain: chain, key: key)
        guard certificate.keyMatches else {
            throw Invalid(description: "\(keyFile): the key does not match the certificate in \(certificateFile)")
        }
        return certificate
    }

    /// Whether the key is the certificate's (BoringSSL checks it when a context is made).
    var keyMatches: Bool {
        (try? ServerTLS.makeContext(self)) != nil
    }

    /// A self-signed certificate for `localhost` (ECDSA P-256, valid ten years from an hour ago),
    /// made in memory: what a TLS listener presents when no `--ssl-cert` is given, as Kong
    /// generates its default certificate at start.
    public static func selfSigned(commonName: String = "localhost") throws -> ServerCertificate {
        let pem = try Self.selfSignedPEM(commonName: commonName, validFor: 10 * 365 * 86_400)
        return ServerCertificate(
            chain: [try NIOSSLCertificate(bytes: Array(pem.certificate.utf8), format: .pem)],
            key: try NIOSSLPrivateKey(bytes: Array(pem.key.utf8), format: .pem)
        )
    }

    /// A new self-signed ECDSA P-256 certificate for `commonName` (also its DNS name), valid from
    /// an hour ago for `seconds`, and its key, both PEM.
    public static func selfSignedPEM(
        commonName: String,
        validFor seconds: Double
    ) throws -> (
        certificate: String, key: String
    ) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("Turnpike")
            CommonName(commonName)
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(seconds),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                // No key usage: a client that trusts this certificate itself (curl --cacert)
                // checks it as its own issuer, which a digitalSignature-only usage would fail.
                Critical(BasicConstraints.notCertificateAuthority)
                SubjectAlternativeNames([.dnsName(commonName)])
            },
            issuerPrivateKey: Certificate.PrivateKey(key)
        )
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }
}

/// The TLS settings of Turnpike's listeners: Kong's `ssl_cipher_suite = intermediate`
/// (kong/conf_loader/constants.lua) — TLS 1.2 and 1.3 only, its ECDHE suites for TLS 1.2 (BoringSSL
/// has no DHE suites; TLS 1.3 suites are BoringSSL's, all of them safe) — and ALPN offering
/// http/1.1 alone (HTTP/2 is not served yet).
public enum ServerTLS {
    static let intermediateCiphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// The TLS context of a `certificates` entity, made when a snapshot is built
    /// (`SnapshotBuilder.compileCertificate`).
    @Sendable public static func compile(_ entity: TLSCertificate) throws -> any Sendable {
        func context(_ cert: String, _ key: String) throws -> NIOSSLContext {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(cert.utf8))
            let key = try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem)
            return try Self.makeContext(ServerCertificate(chain: chain, key: key))
        }
        return CompiledCertificate(
            primary: try context(entity.cert, entity.key),
            primaryIsECDSA: entity.isECDSA,
            alternative: try entity.alternative.map { try context($0.cert, $0.key) }
        )
    }

    /// A server context presenting `certificate`. Made once per certificate (at start, or when a
    /// snapshot is built), never per connection.
    /// `clientCAs`: demand a client certificate issued by one of them (the mock upstream's mTLS).
    public static func makeContext(
        _ certificate: ServerCertificate,
        clientCAs: [NIOSSLCertificate]? = nil
    ) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificate.chain.map { .certificate($0) },
            privateKey: .privateKey(certificate.key)
        )
        if let clientCAs {
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates(clientCAs)
        }
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        configuration.cipherSuites = Self.intermediateCiphers
        configuration.applicationProtocols = ["http/1.1"]
        return try NIOSSLContext(configuration: configuration)
    }
}

/// A `certificates` entity as a TLS listener presents it: its context, and its `cert_alt`'s (the
/// other key type) when it has one.
struct CompiledCertificate: Sendable {
    let primary: NIOSSLContext
    let primaryIsECDSA: Bool
    let alternative: NIOSSLContext?

    /// The ECDSA certificate to a client that takes one, the RSA one otherwise (OpenSSL's choice for
    /// nginx with two certificates: the client's signature algorithms decide).
    func context(acceptsECDSA: Bool) -> NIOSSLContext {
        guard let alternative else { return self.primary }
        return acceptsECDSA == self.primaryIsECDSA ? self.primary : alternative
    }
}
