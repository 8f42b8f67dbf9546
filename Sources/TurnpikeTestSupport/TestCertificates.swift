import TurnpikeServer

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
}
