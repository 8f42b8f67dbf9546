public import TurnpikeModel

/// The server certificates of a snapshot, by server name: what a TLS listener presents, chosen at
/// each handshake on its event loop from the loop's snapshot (no lock, no file read).
///
/// `compiled` is what the gateway made of each certificate when the snapshot was built (its TLS
/// context); the engine only carries it.
public final class CertificateTable: Sendable {
    public struct Entry: Sendable {
        public let certificateID: EntityID
        public let compiled: (any Sendable)?
    }

    public let entries: [Entry]
    /// SNI names (lower-case, wildcards as written: `*.example.com`, `example.*`, `*`) to entries.
    let byName: [String: Int]

    public static let empty = CertificateTable(entries: [], byName: [:])

    init(entries: [Entry], byName: [String: Int]) {
        self.entries = entries
        self.byName = byName
    }

    /// Builds the table; `compile` makes each certificate's TLS material (its errors are
    /// reported at the certificate).
    static func build(
        _ model: Declarative,
        compile: (@Sendable (TLSCertificate) throws -> any Sendable)?,
        diagnostics: Diagnostics
    ) -> CertificateTable {
        guard !model.certificates.isEmpty else { return .empty }
        var entries: [Entry] = []
        var indexByID: [EntityID: Int] = [:]
        for certificate in model.certificates {
            var compiled: (any Sendable)?
            if let compile {
                do {
                    compiled = try compile(certificate)
                } catch {
                    diagnostics.add(
                        "certificate could not be loaded: \(error)",
                        at: certificate.location,
                        path: certificate.fieldPath.text
                    )
                }
            }
            indexByID[certificate.id] = entries.count
            entries.append(Entry(certificateID: certificate.id, compiled: compiled))
        }
        var byName: [String: Int] = [:]
        for sni in model.snis {
            if let i = indexByID[sni.certificate] { byName[sni.name] = i }
        }
        return CertificateTable(entries: entries, byName: byName)
    }

    /// Kong's choice (kong/runloop/certificate.lua, `find_certificate`): the exact name, then the
    /// prefix wildcard (`*.example.com` for `api.example.com`, for names of three labels or
    /// more), then the suffix wildcard (`api.example.*`), then an SNI named `*`; nil when none
    /// applies (the listener's default certificate).
    public func entry(forServerName serverName: String?) -> Entry? {
        guard !self.byName.isEmpty else { return nil }
        if let serverName {
            let name = serverName.lowercased()
            if let i = self.byName[name] { return self.entries[i] }
            if let dot = name.firstIndex(of: "."), name[name.index(after: dot)...].contains("."),
                dot != name.startIndex,
                let i = self.byName["*" + name[dot...]]
            {
                return self.entries[i]
            }
            if let dot = name.lastIndex(of: "."), name.index(after: dot) != name.endIndex,
                let i = self.byName[name[...dot] + "*"]
            {
                return self.entries[i]
            }
        }
        return self.byName["*"].map { self.entries[$0] }
    }
}
