import NIOCore
import NIOPosix
import NIOSSL
import Testing
import TurnpikeTestSupport

@testable import TurnpikeServer

/// A verifying service's check of its target (nginx's proxy_ssl_verify and
/// proxy_ssl_verify_depth, as kong/runloop/upstream_ssl.lua sets them).
@Suite struct UpstreamVerifierTests {
    static func verify(
        _ chain: [String],
        trust: [String],
        depth: Int?,
        name: String? = "localhost"
    ) async throws -> NIOSSLVerificationResult {
        let verifier = try UpstreamVerifier(trust: trust, depth: depth)
        let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: NIOSSLVerificationResult.self)
        verifier.verify(
            try chain.map { try NIOSSLCertificate(bytes: Array($0.utf8), format: .pem) },
            serverName: name,
            targetIP: nil,
            promise: promise
        )
        return try await promise.futureResult.get()
    }

    @Test func depthCountsTheCAsBetweenTheLeafAndTheTrustAnchor() async throws {
        let root = try TestCertificates.Authority(commonName: "Root")
        let one = try root.intermediate(commonName: "Intermediate 1")
        let two = try one.intermediate(commonName: "Intermediate 2")
        let direct = try root.issue(["localhost"]).certificatePEM
        let viaOne = try one.issue(["localhost"]).certificatePEM
        let viaTwo = try two.issue(["localhost"]).certificatePEM
        let trust = [root.certificatePEM]
        #expect(try await Self.verify([direct], trust: trust, depth: 0) == .certificateVerified)
        #expect(try await Self.verify([viaOne, one.certificatePEM], trust: trust, depth: 0) == .failed)
        // nginx's default depth, 1: one intermediate passes, two do not.
        #expect(try await Self.verify([viaOne, one.certificatePEM], trust: trust, depth: nil) == .certificateVerified)
        let twoChain = [viaTwo, two.certificatePEM, one.certificatePEM]
        #expect(try await Self.verify(twoChain, trust: trust, depth: nil) == .failed)
        #expect(try await Self.verify(twoChain, trust: trust, depth: 2) == .certificateVerified)
    }

    @Test func theNameTheTrustAndTheChainMustAllHold() async throws {
        let root = try TestCertificates.Authority(commonName: "Root")
        let other = try TestCertificates.Authority(commonName: "Other")
        let leaf = try root.issue(["localhost"]).certificatePEM
        #expect(try await Self.verify([leaf], trust: [root.certificatePEM], depth: nil) == .certificateVerified)
        #expect(try await Self.verify([leaf], trust: [other.certificatePEM], depth: nil) == .failed)
        #expect(try await Self.verify([leaf], trust: [root.certificatePEM], depth: nil, name: "api.test") == .failed)
        // An intermediate the target does not send cannot be found.
        let viaOne = try root.intermediate(commonName: "I").issue(["localhost"]).certificatePEM
        #expect(try await Self.verify([viaOne], trust: [root.certificatePEM], depth: 5) == .failed)
    }
}
