import Testing
import TurnpikeModel

@testable import TurnpikePlugins

@Suite struct SecretIndexTests {
    let secrets: [String?] = ["alpha-key", nil, "beta-key", "alpha-key", "", "ünïcode-kéy"]

    func lookup(_ index: SecretIndex, _ key: String) -> Int? {
        index.find(key) { self.secrets[$0] ?? "" }
    }

    @Test func findsEverySecretAndOnlyThose() {
        let index = SecretIndex(self.secrets)
        #expect(self.lookup(index, "alpha-key") == 0)  // a repeated secret keeps its first index
        #expect(self.lookup(index, "beta-key") == 2)
        #expect(self.lookup(index, "") == 4)
        #expect(self.lookup(index, "ünïcode-kéy") == 5)
        #expect(self.lookup(index, "alpha-ke") == nil)
        #expect(self.lookup(index, "alpha-key ") == nil)
        #expect(self.lookup(index, "ALPHA-KEY") == nil)
        #expect(index.count == 4)  // nil skipped, the repeat filed once
    }

    @Test func aDigestMatchIsConfirmedAgainstTheStoredKey() {
        // Stand-in for a digest collision: the table finds an entry, but the stored secret differs.
        let index = SecretIndex(self.secrets)
        #expect(index.find("beta-key") { _ in "beta-kez" } == nil)
        #expect(index.find("beta-key") { _ in "beta-key" } == 2)
    }

    @Test func digestsDependOnTheSalt() {
        // Two indexes of the same keys draw different salts, so their digests differ.
        let a = SecretIndex.digest("alpha-key", salt: (1, 2, 3, 4))
        let b = SecretIndex.digest("alpha-key", salt: (5, 6, 7, 8))
        #expect(a != b)
        #expect(a == SecretIndex.digest("alpha-key", salt: (1, 2, 3, 4)))
        #expect(a != SecretIndex.digest("alpha-kez", salt: (1, 2, 3, 4)))
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equal("abc", "abc"))
        #expect(!ConstantTime.equal("abc", "abd"))
        #expect(!ConstantTime.equal("abc", "abcd"))
        #expect(ConstantTime.equal("", ""))
    }

    @Test func oneHundredThousandKeys() {
        let keys: [String?] = (0..<100_000).map { "key-\($0)" }
        let index = SecretIndex(keys)
        #expect(index.count == 100_000)
        for i in stride(from: 0, to: 100_000, by: 997) {
            #expect(index.find("key-\(i)") { keys[$0]! } == i)
        }
        #expect(index.find("key-100000") { keys[$0]! } == nil)
    }
}
