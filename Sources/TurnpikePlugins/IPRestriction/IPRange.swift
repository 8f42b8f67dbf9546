#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IP address or CIDR range (Kong's `typedefs.ip_or_cidr`), IPv4 or IPv6, compiled once when
/// the config is decoded; `contains` compares bytes. An IPv4 address never matches an IPv6 range
/// and the reverse (as resty.ipmatcher keeps the families apart).
public struct IPRange: Sendable, Equatable {
    /// 4 bytes for IPv4, 16 for IPv6.
    let network: [UInt8]
    let prefix: Int

    /// `a.b.c.d`, `a.b.c.d/n` (n 0–32), an IPv6 address, or one with `/n` (0–128).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = Self.bytes(String(parts[0])) else { return nil }
        let bits = address.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard let n = Int(parts[1]), (0...bits).contains(n), parts[1].allSatisfy(\.isASCII) else { return nil }
            prefix = n
        }
        // The network part only (`10.1.2.3/8` means 10.0.0.0/8, as ipmatcher reads it).
        var network = address
        for i in 0..<network.count {
            let keep = max(0, min(8, prefix - i * 8))
            network[i] &= keep == 8 ? 0xFF : UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
        }
        self.network = network
        self.prefix = prefix
    }

    /// Whether `address` (bytes from `IPRange.bytes`) is in the range.
    public func contains(_ address: [UInt8]) -> Bool {
        guard address.count == self.network.count else { return false }
        var remaining = self.prefix
        for i in 0..<address.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = bits == 8 ? UInt8(0xFF) : UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if address[i] & mask != self.network[i] { return false }
            remaining -= bits
        }
        return true
    }

    /// An address's bytes (4 for IPv4, 16 for IPv6), or nil when `text` is not an address.
    public static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
