import Foundation
import NIOCore
import NIOSSL
import SwiftASN1
import TurnpikeEngine
import X509

/// Verifies an HTTPS target's certificate as nginx's `proxy_ssl_verify on` does for Kong
/// (kong/runloop/upstream_ssl.lua): a chain to the service's `ca_certificates` (or the system's
/// roots), valid now, for the server name, with at most `tls_verify_depth` intermediate
/// certificates (nginx's `proxy_ssl_verify_depth`, 1 when unset: OpenSSL's depth counts the CAs
/// between the leaf and the trust anchor). Chains are built and checked by swift-certificates'
/// verifier, which reports the chain it validated, so the depth can be enforced.
struct UpstreamVerifier: Sendable {
    let roots: CertificateStore
    let depth: Int

    /// nginx's default `proxy_ssl_verify_depth`.
    static let defaultDepth = 1

    /// `trust`: PEM CA certificates (nil: the system's trust store, loaded off the event loops by
    /// swift-certificates).
    init(trust: [String]?, depth: Int?) throws {
        if let trust {
            var certificates: [Certificate] = []
            for pem in trust {
                for document in try PEMDocument.parseMultiple(pemString: pem) {
                    certificates.append(try Certificate(derEncoded: document.derBytes))
                }
            }
            self.roots = CertificateStore(certificates)
        } else {
            self.roots = CertificateStore.systemTrustRoots
        }
        self.depth = depth ?? Self.defaultDepth
    }

    /// The NIOSSL callback: the presented chain (leaf first) checked for `serverName` (or the
    /// target's IP), answered on `promise`.
    func verify(
        _ presented: [NIOSSLCertificate],
        serverName: String?,
        targetIP: String?,
        promise: EventLoopPromise<NIOSSLVerificationResult>
    ) {
        let chain: [Certificate]
        do {
            chain = try presented.map { try Certificate(derEncoded: $0.toDERBytes()) }
        } catch {
            promise.succeed(.failed)
            return
        }
        guard let leaf = chain.first else {
            promise.succeed(.failed)
            return
        }
        let roots = self.roots
        let depth = self.depth
        // Off the event loop, and off Swift's shared pool too (code elsewhere may block its few
        // threads): on a queue of its own.
        Task(executorPreference: VerificationExecutor.shared) {
            var verifier = Verifier(rootCertificates: roots) {
                RFC5280Policy()
                ServerIdentityPolicy(serverHostname: serverName, serverIP: serverName == nil ? targetIP : nil)
            }
            let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(chain.dropFirst()))
            guard case .validCertificate(let validated) = result else {
                promise.succeed(.failed)
                return
            }
            // Leaf, intermediates, anchor: the anchor is the leaf itself for a trusted self-signed one.
            let intermediates = max(0, validated.count - 2)
            promise.succeed(intermediates <= depth ? .certificateVerified : .failed)
        }
    }
}

/// Where upstream certificate checks run: a Dispatch queue, so a check never waits for a thread of
/// Swift's cooperative pool (sized to the cores, and blockable by code outside Turnpike's control).
final class VerificationExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = VerificationExecutor()
    private let queue = DispatchQueue(label: "turnpike.upstream-tls-verification", attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
