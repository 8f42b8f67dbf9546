import Crypto
public import Foundation
import SwiftASN1
import X509

extension DeclarativeDecoder {
    /// One `ca_certificates` entry: Kong's certificate checks (typedefs.certificate, then the
    /// entity's own: one certificate, not expired, a CA) and its `cert_digest`.
    func readCACertificate(_ node: ConfigNode, path: FieldPath) {
        guard var r = Record(node, path: path, diagnostics: self.diagnostics) else { return }
        r.extras()
        self.skipTimestamps(&r)
        let explicitID = self.readID(&r)
        let tags = self.readTags(&r)
        let certField = self.readPEMField(&r, "cert", required: true)
        let givenDigest = r.string("cert_digest")
        r.finish(allowExtras: true)
        guard let (cert, certNode) = certField else { return }

        let checked: PEMCertificates.Checked
        switch PEMCertificates.check(cert) {
        case .failure(let failure):
            r.error(failure.message, key: "cert", node: certNode)
            return
        case .success(let value):
            checked = value
        }
        if checked.count > 1 {
            r.entityError("please submit only one certificate at a time")
            return
        }
        if checked.notValidAfter < Date() {
            r.entityError("certificate expired, \"Not After\" time is in the past")
            return
        }
        if !checked.isCA {
            r.entityError("certificate does not appear to be a CA because it is missing the \"CA\" basic constraint")
            return
        }
        // Kong overwrites a given digest with the computed one; a different one given is refused
        // here rather than silently replaced.
        if let givenDigest, givenDigest.lowercased() != checked.sha256Hex {
            r.error("does not match the certificate (its SHA-256 is \(checked.sha256Hex))", key: "cert_digest")
            return
        }
        let id =
            explicitID
            ?? self.contentID(
                namespace: DeclarativeIDs.caCertificates,
                collection: "ca_certificates",
                node: node,
                excluding: ["_comment", "_ignore", "tags", "cert_digest"],
                parent: nil
            )
        var entity = CACertificate(
            id: id,
            cert: cert,
            certDigest: checked.sha256Hex,
            location: node.location,
            path: path
        )
        entity.tags = tags
        self.model.caCertificates.append(entity)
    }
}

/// PEM certificates read with swift-certificates, for the checks Kong makes with OpenSSL.
public enum PEMCertificates {
    public struct Checked: Sendable {
        /// How many certificates the text holds.
        public var count: Int
        /// Of the first one:
        public var notValidAfter: Date
        public var isCA: Bool
        public var sha256Hex: String
    }

    /// Kong's `invalid certificate: ...` when the text holds no parsable certificate.
    public static func check(_ text: String) -> Result<Checked, Failure> {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: text)
        } catch {
            return .failure(Failure("invalid certificate: \(Self.reason(error))"))
        }
        guard let first = documents.first else { return .failure(Failure("invalid certificate: no PEM certificate")) }
        guard first.discriminator == "CERTIFICATE" else {
            return .failure(Failure("invalid certificate: expected a CERTIFICATE, found \(first.discriminator)"))
        }
        let certificate: Certificate
        do {
            certificate = try Certificate(pemDocument: first)
        } catch {
            return .failure(Failure("invalid certificate: \(Self.reason(error))"))
        }
        let isCA: Bool
        switch try? certificate.extensions.basicConstraints {
        case .isCertificateAuthority: isCA = true
        default: isCA = false
        }
        let digest = SHA256.hash(data: first.derBytes)
        return .success(
            Checked(
                count: documents.filter { $0.discriminator == "CERTIFICATE" }.count,
                notValidAfter: certificate.notValidAfter,
                isCA: isCA,
                sha256Hex: digest.map { String(format: "%02x", $0) }.joined()
            )
        )
    }

    public struct Failure: Error, Sendable {
        public var message: String
        init(_ message: String) { self.message = message }
    }

    static func reason(_ error: any Error) -> String {
        if let asn1 = error as? ASN1Error { return "\(asn1.code)" }
        return "\(error)"
    }
}
