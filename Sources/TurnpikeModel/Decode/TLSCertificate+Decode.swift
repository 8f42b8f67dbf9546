import Crypto
import Foundation
import SwiftASN1
import X509

extension DeclarativeDecoder {
    /// One `certificates` entry and its nested `snis`, with Kong's checks: PEM that parses, a key
    /// that parses and matches the certificate (kong/db/schema/entities/certificates.lua). The key
    /// never appears in a message.
    func readCertificate(_ node: ConfigNode, path: FieldPath) {
        guard var r = Record(node, path: path, diagnostics: self.diagnostics) else { return }
        r.extras()
        self.skipTimestamps(&r)
        let explicitID = self.readID(&r)
        let tags = self.readTags(&r)
        let certField = self.readPEMField(&r, "cert", required: true)
        let keyField = self.readPEMField(&r, "key", required: true)
        let (cert, certNode, key, keyNode) = (certField?.text, certField?.node, keyField?.text, keyField?.node)
        let certAlt = self.readPEMField(&r, "cert_alt")
        let keyAlt = self.readPEMField(&r, "key_alt")
        let snisNode = r.take("snis")
        r.finish(allowExtras: true)

        let main = self.checkPair(&r, cert: cert, certNode: certNode, key: key, keyNode: keyNode, alternative: false)
        var alternative: (cert: String, key: String)?
        if (certAlt == nil) != (keyAlt == nil) {
            r.entityError("all or none of these fields must be set: 'cert_alt', 'key_alt'")
        } else if let certAlt, let keyAlt {
            let alt = self.checkPair(
                &r,
                cert: certAlt.text,
                certNode: certAlt.node,
                key: keyAlt.text,
                keyNode: keyAlt.node,
                alternative: true
            )
            if let main, let alt {
                // One ECDSA and one other (RSA): what a TLS handshake can choose between.
                if main.isECDSA == alt.isECDSA {
                    r.entityError(
                        "certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), "
                            + "the provided certificates were both of the same type"
                    )
                } else {
                    alternative = (certAlt.text, keyAlt.text)
                }
            }
        }
        let checked = main

        let id =
            explicitID
            ?? self.contentID(
                namespace: DeclarativeIDs.certificates,
                collection: "certificates",
                node: node,
                excluding: ["snis", "_comment", "_ignore", "tags"],
                parent: nil
            )
        if let cert, let key, let checked {
            var entity = TLSCertificate(
                id: id,
                cert: cert,
                key: key,
                notValidAfter: checked.notValidAfter,
                isECDSA: checked.isECDSA,
                location: node.location,
                path: path
            )
            entity.tags = tags
            entity.alternative = alternative
            self.model.certificates.append(entity)
        }

        guard let snisNode, !snisNode.isNull,
            let items = Record.array(
                snisNode,
                path: path.appending("snis"),
                diagnostics: self.diagnostics,
                element: { n, _ in n }
            )
        else { return }
        let parent = Parent(field: "certificate", id: id, key: nil)
        for (i, item) in items.enumerated() {
            self.readSNI(item, path: path.appending("snis").index(i), parent: parent)
        }
    }

    /// A PEM text field, with its node.
    func readPEMField(_ r: inout Record, _ key: String, required: Bool = false) -> (text: String, node: ConfigNode)? {
        guard let node = r.value(key, required: required),
            let text = Record.string(node, path: r.fieldPath(key), diagnostics: self.diagnostics)
        else { return nil }
        return (text, node)
    }

    /// A certificate and its key, checked as Kong checks them; nil when either is missing or bad.
    func checkPair(
        _ r: inout Record,
        cert: String?,
        certNode: ConfigNode?,
        key: String?,
        keyNode: ConfigNode?,
        alternative: Bool
    ) -> (notValidAfter: Date, isECDSA: Bool)? {
        let certKey = alternative ? "cert_alt" : "cert"
        let keyKey = alternative ? "key_alt" : "key"
        var leaf: (certificate: Certificate, notValidAfter: Date)?
        if let cert, let certNode {
            switch PEMCertificates.check(cert) {
            case .failure(let failure):
                r.error(failure.message, key: certKey, node: certNode)
            case .success(let value):
                if let certificate = try? Certificate(pemEncoded: cert) { leaf = (certificate, value.notValidAfter) }
            }
        }
        var privateKey: Certificate.PrivateKey?
        if let key, let keyNode {
            do {
                privateKey = try Certificate.PrivateKey(pemEncoded: key)
            } catch {
                // The key's text is never echoed: only what is wrong with it.
                r.error("invalid key: \(PEMCertificates.reason(error))", key: keyKey, node: keyNode)
            }
        }
        guard let leaf, let privateKey else { return nil }
        guard leaf.certificate.publicKey == privateKey.publicKey else {
            r.entityError(alternative ? "alternative certificate does not match key" : "certificate does not match key")
            return nil
        }
        let publicKey = leaf.certificate.publicKey
        let isECDSA =
            P256.Signing.PublicKey(publicKey) != nil || P384.Signing.PublicKey(publicKey) != nil
            || P521.Signing.PublicKey(publicKey) != nil
        return (leaf.notValidAfter, isECDSA)
    }

    /// One `snis` entry, flat (with `certificate`) or nested in its certificate (an object, or
    /// just the name as a string).
    func readSNI(_ node: ConfigNode, path: FieldPath, parent: Parent?) {
        var name: String?
        var nameNode = node
        var explicitID: EntityID?
        var tags: [String]?
        var certificateRef: Reference?
        if parent != nil, let s = node.string {
            name = s
        } else {
            guard var r = Record(node, path: path, diagnostics: self.diagnostics) else { return }
            r.extras()
            self.skipTimestamps(&r)
            explicitID = self.readID(&r)
            tags = self.readTags(&r)
            if let parent {
                self.checkRestatedParent(&r, parent: parent)
            } else {
                certificateRef = self.readReference(&r, key: "certificate", required: true)
            }
            if let n = r.value("name", required: true) {
                nameNode = n
                name = Record.string(n, path: r.fieldPath("name"), diagnostics: self.diagnostics)
            }
            r.finish(allowExtras: true)
        }
        guard let name else { return }
        let namePath = node.string == nil ? path.appending("name") : path
        if let message = RouteRules.sni(name) {
            self.diagnostics.add(message, node: nameNode, path: namePath.text)
            return
        }
        let id = explicitID ?? EntityID.v5(namespace: DeclarativeIDs.snis, name: name.lowercased())
        var sni = SNI(
            id: id,
            name: name.lowercased(),
            certificate: parent?.id ?? .zero,
            location: node.location,
            path: path
        )
        sni.tags = tags
        let index = self.model.snis.count
        self.model.snis.append(sni)
        if let certificateRef { self.pending.append((.sniCertificate(index), certificateRef)) }
    }
}
