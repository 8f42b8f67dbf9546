import NIOSSL
import Synchronization
public import TurnpikeEngine

/// The client TLS contexts upstream connections use, one per distinct `UpstreamTLS`. Made when a
/// snapshot is loaded (`prepare`, on the loader's thread: loading the system trust store reads
/// files), so an event loop opening a connection only looks one up. The set of settings is as
/// small as the config's variety of them, and never shrinks (an older snapshot may still open
/// connections with its own).
public final class UpstreamTLSContexts: Sendable {
    private let contexts = Mutex<[UpstreamTLS: NIOSSLContext]>([:])

    public init() {}

    /// Makes the contexts `snapshot`'s services need and does not have yet.
    public func prepare(_ snapshot: Snapshot) {
        var needed = Set<UpstreamTLS>()
        for plan in snapshot.routePlans { if let tls = plan.service?.tls { needed.insert(tls) } }
        let missing = self.contexts.withLock { have in needed.filter { have[$0] == nil } }
        for settings in missing {
            guard let context = try? Self.make(settings) else { continue }
            self.contexts.withLock { $0[settings] = $0[settings] ?? context }
        }
    }

    /// The context for `settings` (made now if `prepare` did not: blocking, the first time only).
    func context(for settings: UpstreamTLS) throws -> NIOSSLContext {
        if let context = self.contexts.withLock({ $0[settings] }) { return context }
        let context = try Self.make(settings)
        return self.contexts.withLock { have in
            if let existing = have[settings] { return existing }
            have[settings] = context
            return context
        }
    }

    /// nginx's upstream TLS as Kong configures it: TLS 1.2 and 1.3, no ALPN (HTTP/1.1 to the
    /// target), the target's certificate and name verified only with `tls_verify`, against the
    /// service's `ca_certificates` when it has any, else the system's trust store.
    static func make(_ settings: UpstreamTLS) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = settings.verify ? .fullVerification : .none
        if let trust = settings.trust {
            configuration.trustRoots = .certificates(
                try trust.flatMap { try NIOSSLCertificate.fromPEMBytes(Array($0.utf8)) }
            )
        } else {
            configuration.trustRoots = .default
        }
        if let client = settings.clientCertificate {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(client.chain.utf8)).map {
                .certificate($0)
            }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(client.key.utf8), format: .pem))
        }
        return try NIOSSLContext(configuration: configuration)
    }
}
