import NIOSSL
import Synchronization
public import TurnpikeEngine

/// The client TLS material upstream connections use, one per distinct `UpstreamTLS`: the TLS
/// context and, for verifying services, the verifier with its trust store. Made when a snapshot is
/// loaded (`prepare`, on the loader's thread: trust stores are read from files), so an event loop
/// opening a connection only looks one up. The set of settings is as small as the config's variety
/// of them, and never shrinks (an older snapshot may still open connections with its own).
public final class UpstreamTLSContexts: Sendable {
    struct Prepared: Sendable {
        let context: NIOSSLContext
        /// Nil when the service does not verify its targets.
        let verifier: UpstreamVerifier?
    }

    private let prepared = Mutex<[UpstreamTLS: Prepared]>([:])

    public init() {}

    /// Makes what `snapshot`'s services need and is not made yet.
    public func prepare(_ snapshot: Snapshot) {
        var needed = Set<UpstreamTLS>()
        for plan in snapshot.routePlans { if let tls = plan.service?.tls { needed.insert(tls) } }
        let missing = self.prepared.withLock { have in needed.filter { have[$0] == nil } }
        for settings in missing {
            guard let made = try? Self.make(settings) else { continue }
            self.prepared.withLock { $0[settings] = $0[settings] ?? made }
        }
    }

    /// The material for `settings` (made now if `prepare` did not: blocking, the first time only).
    func material(for settings: UpstreamTLS) throws -> Prepared {
        if let made = self.prepared.withLock({ $0[settings] }) { return made }
        let made = try Self.make(settings)
        return self.prepared.withLock { have in
            if let existing = have[settings] { return existing }
            have[settings] = made
            return made
        }
    }

    /// nginx's upstream TLS as Kong configures it: TLS 1.2 and 1.3, no ALPN (HTTP/1.1 to the
    /// target), the service's client certificate if any. Verification (only with `tls_verify`) is
    /// `UpstreamVerifier`'s, against the service's `ca_certificates` or the system's roots.
    static func make(_ settings: UpstreamTLS) throws -> Prepared {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        // With verification on, NIOSSL hands the chain to the verifier's callback instead.
        configuration.certificateVerification = settings.verify ? .fullVerification : .none
        configuration.trustRoots = .certificates([])
        if let client = settings.clientCertificate {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(client.chain.utf8)).map {
                .certificate($0)
            }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(client.key.utf8), format: .pem))
        }
        return Prepared(
            context: try NIOSSLContext(configuration: configuration),
            verifier: settings.verify ? try UpstreamVerifier(trust: settings.trust, depth: settings.verifyDepth) : nil
        )
    }
}
