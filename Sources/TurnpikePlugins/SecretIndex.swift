import TurnpikeModel

/// Secrets (API keys) indexed so that a lookup never compares the presented key with a stored
/// one byte by byte, which would leak through timing how much of a stored key an attacker guessed.
///
/// Each key is filed under a 128-bit digest keyed with a random salt drawn when the index is
/// built: the table compares digests, which say nothing about keys to whoever cannot compute them.
/// The one entry whose digest matches is then confirmed against the presented key in constant time
/// (a digest collision must not let a wrong key in). One digest and one hash probe per lookup,
/// whatever the number of keys.
public struct SecretIndex: Sendable {
    struct Digest: Hashable, Sendable {
        var high: UInt64
        var low: UInt64

        func hash(into hasher: inout Hasher) {
            // Already uniformly distributed: half of it is enough to place it.
            hasher.combine(self.low)
        }
    }

    private let salt: (UInt64, UInt64, UInt64, UInt64)
    private let slots: [Digest: Int]

    /// Files `secrets[i]` under `i`; nil entries are skipped, and a repeated secret keeps its first index.
    public init(_ secrets: [String?]) {
        var rng = SystemRandomNumberGenerator()
        let salt = (rng.next() as UInt64, rng.next() as UInt64, rng.next() as UInt64, rng.next() as UInt64)
        var slots: [Digest: Int] = [:]
        slots.reserveCapacity(secrets.count)
        for i in secrets.indices {
            guard let secret = secrets[i] else { continue }
            let digest = Self.digest(secret, salt: salt)
            if slots[digest] == nil { slots[digest] = i }
        }
        self.salt = salt
        self.slots = slots
    }

    public var count: Int { self.slots.count }

    /// The index filed for `key`, confirmed with `stored` (the secret at that index).
    public func find(_ key: String, stored: (Int) -> String) -> Int? {
        guard let i = self.slots[Self.digest(key, salt: self.salt)] else { return nil }
        return ConstantTime.equal(key, stored(i)) ? i : nil
    }

    /// Two SipHash runs (Swift's `Hasher`, seeded per process), each over its own half of the
    /// random salt and the key: 128 bits that depend on the salt.
    static func digest(_ key: String, salt: (UInt64, UInt64, UInt64, UInt64)) -> Digest {
        var key = key
        return key.withUTF8 { bytes in
            var first = Hasher()
            first.combine(salt.0)
            first.combine(salt.1)
            first.combine(bytes: UnsafeRawBufferPointer(bytes))
            var second = Hasher()
            second.combine(salt.2)
            second.combine(salt.3)
            second.combine(bytes: UnsafeRawBufferPointer(bytes))
            return Digest(
                high: UInt64(bitPattern: Int64(first.finalize())),
                low: UInt64(bitPattern: Int64(second.finalize()))
            )
        }
    }
}
