/// A request's id (Kong's `$kong_request_id`): 32 lower-case hex digits. Kept as two words and
/// written straight into heads; a string is made only when someone asks for one.
public struct RequestID: Sendable, Hashable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The 32 hex digits, `high` first.
    public var description: String {
        String(unsafeUninitializedCapacity: 32) { buffer in
            self.withHexDigits { i, digit in buffer[i] = digit }
            return 32
        }
    }

    /// Calls `body` with each of the 32 hex digits and its position.
    @inlinable
    public func withHexDigits(_ body: (Int, UInt8) -> Void) {
        for (word, offset) in [(self.high, 0), (self.low, 16)] {
            for i in 0..<16 {
                let nibble = UInt8(truncatingIfNeeded: word >> (60 - 4 * UInt64(i))) & 0xf
                body(offset + i, nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
            }
        }
    }
}
