import Testing
import TurnpikeModel

@Suite struct SecretDigestTests {
    @Test func keyedShortDigest() {
        let a = SecretDigest.short("apikey")
        #expect(a.hasPrefix("hmac-sha256:"))
        #expect(a.count == "hmac-sha256:".count + 12)
        #expect(a.dropFirst("hmac-sha256:".count).allSatisfy { $0.isHexDigit && !$0.isUppercase })
        // Stable within the process (so keys can be told apart), different for another key.
        #expect(SecretDigest.short("apikey") == a)
        #expect(SecretDigest.short("apikey2") != a)
        // Not the unkeyed digest anyone could compute from a guess.
        // SHA-256("apikey") starts 6c793695171e.
        #expect(!a.hasSuffix("6c793695171e"))
    }
}
