import Crypto

/// A UUID as Kong prints it: 36 lowercase characters. Stored as 16 bytes; compared as Kong compares
/// ids (string order of the canonical lowercase form, which equals byte order).
public struct EntityID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A random UUID (version 4, RFC 4122 variant): the node id, correlation ids.
    public static func random() -> EntityID {
        var random = SystemRandomNumberGenerator()
        let high = (random.next() as UInt64) & ~0xF000 | 0x4000
        let low = (random.next() as UInt64) & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
        return EntityID(high: high, low: low)
    }

    /// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (either case). Kong accepts any version.
    public init?(_ text: String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        let utf8 = Array(text.utf8)
        guard utf8.count == 36 else { return nil }
        var i = 0
        while i < 36 {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard utf8[i] == UInt8(ascii: "-") else { return nil }
                i += 1
                continue
            }
            guard let h = Self.hexValue(utf8[i]), let l = Self.hexValue(utf8[i + 1]) else { return nil }
            bytes.append(h << 4 | l)
            i += 2
        }
        self.init(bytes: bytes)
    }

    public init(bytes: [UInt8]) {
        precondition(bytes.count >= 16, "a UUID has 16 bytes")
        var h: UInt64 = 0
        var l: UInt64 = 0
        for i in 0..<8 { h = h << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { l = l << 8 | UInt64(bytes[i]) }
        self.init(high: h, low: l)
    }

    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            out[i] = UInt8(truncatingIfNeeded: self.high >> (56 - 8 * UInt64(i)))
            out[8 + i] = UInt8(truncatingIfNeeded: self.low >> (56 - 8 * UInt64(i)))
        }
        return out
    }

    public var description: String {
        // Ids are printed a lot (admin output, derived ids): write straight into the string.
        String(unsafeUninitializedCapacity: 36) { buffer in
            var o = 0
            for i in 0..<16 {
                if i == 4 || i == 6 || i == 8 || i == 10 {
                    buffer[o] = UInt8(ascii: "-")
                    o += 1
                }
                let word = i < 8 ? self.high : self.low
                let b = UInt8(truncatingIfNeeded: word >> (56 - 8 * UInt64(i % 8)))
                buffer[o] = Self.hexDigit(b >> 4)
                buffer[o + 1] = Self.hexDigit(b & 0xf)
                o += 2
            }
            return o
        }
    }

    /// The 32 hex digits without dashes (jwt's derived keys).
    public var hexDigits: String {
        self.description.filter { $0 != "-" }
    }

    @inline(__always)
    static func hexDigit(_ v: UInt8) -> UInt8 {
        v < 10 ? UInt8(ascii: "0") + v : UInt8(ascii: "a") + v - 10
    }

    public static let zero = EntityID(high: 0, low: 0)

    public static func < (lhs: EntityID, rhs: EntityID) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }

    /// RFC 4122 name-based UUID, version 5 (SHA-1), as Kong's `utils.uuid`-less declarative ids use.
    public static func v5(namespace: EntityID, name: String) -> EntityID {
        var name = name
        return name.withUTF8 { v5(namespace: namespace, bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Name-based UUID over raw bytes (ids turnpike derives itself, where no string is needed).
    public static func v5(namespace: EntityID, bytes name: UnsafeRawBufferPointer) -> EntityID {
        var sha = Insecure.SHA1()
        // Big-endian bytes of the namespace, without building an array (ids are derived 100k+
        // times for large configs).
        withUnsafeBytes(of: (namespace.high.bigEndian, namespace.low.bigEndian)) { sha.update(bufferPointer: $0) }
        sha.update(bufferPointer: name)
        let digest = sha.finalize()
        return digest.withUnsafeBytes { raw -> EntityID in
            var h: UInt64 = 0
            var l: UInt64 = 0
            for i in 0..<8 {
                var b = raw[i]
                if i == 6 { b = (b & 0x0f) | 0x50 }
                h = h << 8 | UInt64(b)
            }
            for i in 8..<16 {
                var b = raw[i]
                if i == 8 { b = (b & 0x3f) | 0x80 }
                l = l << 8 | UInt64(b)
            }
            return EntityID(high: h, low: l)
        }
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Kong's deterministic declarative ids: `uuid5(uuid5(N0, collection), key)`.
public enum DeclarativeIDs {
    /// Kong's root namespace for declarative ids (kong/db/declarative/import.lua).
    public static let root = EntityID("fd02801f-0957-4a15-a55a-c8d9606f30b5")!

    public static func namespace(_ collection: String) -> EntityID {
        EntityID.v5(namespace: root, name: collection)
    }

    public static let services = namespace("services")
    public static let routes = namespace("routes")
    public static let consumers = namespace("consumers")
    public static let plugins = namespace("plugins")
    public static let upstreams = namespace("upstreams")
    public static let targets = namespace("targets")
    public static let caCertificates = namespace("ca_certificates")
    public static let certificates = namespace("certificates")
    public static let snis = namespace("snis")
}

/// How secrets appear where an operator needs to tell them apart without seeing them (admin API):
/// `hmac-sha256:` and the first 12 hex digits of an HMAC-SHA256 keyed with a random key drawn
/// once per process. Stable across reloads, different after a restart; unkeyed, a short digest of
/// a guessable key (the walkthrough's `apikey`) could be reversed offline by trying candidates.
public enum SecretDigest {
    private static let keyBytes: [UInt8] = {
        var rng = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }()

    /// A secret for a credential the file gave none (Kong draws a random one, shown by its admin
    /// API): 64 hex digits keyed with this process's random key, so nobody outside the process
    /// can know it, and the same for the same `label` across reloads.
    public static func unknowable(_ label: String) -> String {
        Self.keyedHex("unknowable:" + label, bytes: 32)
    }

    public static func short(_ secret: String) -> String {
        "hmac-sha256:" + Self.keyedHex(secret, bytes: 6)
    }

    /// The first `bytes` bytes of HMAC-SHA256(process key, text), in lowercase hex.
    static func keyedHex(_ text: String, bytes: Int) -> String {
        let digest = HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: SymmetricKey(data: Self.keyBytes))
        var out = ""
        out.reserveCapacity(2 * bytes)
        for b in digest.prefix(bytes) {
            out.append(EntityID.hexCharacter(b >> 4))
            out.append(EntityID.hexCharacter(b & 0xf))
        }
        return out
    }
}

extension EntityID {
    public static func hexCharacter(_ v: UInt8) -> Character {
        Character(Unicode.Scalar(Self.hexDigit(v)))
    }
}
