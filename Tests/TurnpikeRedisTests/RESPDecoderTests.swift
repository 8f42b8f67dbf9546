import NIOCore
import Testing

@testable import TurnpikeRedis

/// RESP2 replies, whole, split at every byte, malformed and past the bounds.
@Suite struct RESPDecoderTests {
    static func decodeAll(_ bytes: String, limits: RESPDecoder.Limits = RESPDecoder.Limits()) throws -> [RESPValue] {
        var decoder = RESPDecoder(limits: limits)
        var buffer = ByteBuffer(string: bytes)
        var out: [RESPValue] = []
        while let value = try decoder.decode(buffer: &buffer) { out.append(value) }
        return out
    }

    @Test func everyType() throws {
        let text =
            "+OK\r\n-ERR wrong\r\n:42\r\n:-7\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*2\r\n:1\r\n$1\r\nx\r\n*-1\r\n*0\r\n"
        #expect(
            try Self.decodeAll(text) == [
                .simpleString("OK"), .error("ERR wrong"), .integer(42), .integer(-7),
                .bulkString(ByteBuffer(string: "hello")), .bulkString(ByteBuffer()), .bulkString(nil),
                .array([.integer(1), .bulkString(ByteBuffer(string: "x"))]), .array(nil), .array([]),
            ]
        )
        // Binary-safe bulk strings: a CRLF inside is data.
        #expect(try Self.decodeAll("$4\r\na\r\nb\r\n") == [.bulkString(ByteBuffer(string: "a\r\nb"))])
    }

    @Test func aReplySplitAnywhereWaitsForTheRest() throws {
        let text = "*3\r\n$3\r\nfoo\r\n:12\r\n*1\r\n+nested\r\n"
        let whole = try Self.decodeAll(text)
        #expect(whole.count == 1)
        let bytes = Array(text.utf8)
        for cut in 1..<bytes.count {
            var decoder = RESPDecoder()
            var buffer = ByteBuffer(bytes: bytes[..<cut])
            #expect(try decoder.decode(buffer: &buffer) == nil, "cut at \(cut)")
            #expect(buffer.readableBytes == cut, "nothing consumed at \(cut)")
            buffer.writeBytes(bytes[cut...])
            #expect(try decoder.decode(buffer: &buffer) == whole[0], "cut at \(cut)")
            #expect(buffer.readableBytes == 0)
        }
    }

    /// A fixed-seed fuzz: valid replies with bytes flipped, inserted, dropped and cut, fed whole
    /// and byte by byte. Every input decodes to values, waits for more, or throws: it never
    /// traps, and a value never claims more bytes than it was given.
    @Test func mutatedRepliesNeverTrap() {
        let seeds = [
            "*3\r\n$3\r\nfoo\r\n:12\r\n*1\r\n+nested\r\n", ":0\r\n:1\r\n", "-NOSCRIPT no script\r\n",
            "$-1\r\n*-1\r\n", "*2\r\n*2\r\n:1\r\n:2\r\n$0\r\n\r\n", ":9223372036854775807\r\n",
        ].map { Array($0.utf8) }
        var rng = SplitMix(seed: 0x7475_726E_7069_6B65)
        let alphabet = Array("*$:+-\r\n0123456789-x".utf8)
        for round in 0..<4000 {
            var bytes = seeds[Int(rng.next() % UInt64(seeds.count))]
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = Int(rng.next() % UInt64(bytes.count + 1))
                switch rng.next() % 4 {
                case 0 where at < bytes.count: bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                case 2 where at < bytes.count: bytes.remove(at: at)
                default: bytes = Array(bytes.prefix(at))
                }
            }
            var limits = RESPDecoder.Limits()
            limits.maxBulkBytes = 1 << 20
            limits.maxArrayElements = 1 << 16
            for stepwise in [false, true] {
                var decoder = RESPDecoder(limits: limits)
                var buffer = ByteBuffer()
                do {
                    for chunk in stepwise ? bytes.map({ [$0] }) : [bytes] {
                        buffer.writeBytes(chunk)
                        let before = buffer.readableBytes
                        while try decoder.decode(buffer: &buffer) != nil {}
                        #expect(buffer.readableBytes <= before, "round \(round)")
                    }
                } catch {
                    // An error is the expected end of a malformed stream.
                }
            }
        }
    }

    @Test func malformedRepliesAreErrors() {
        let cases: [(String, RESPDecoder.Failure)] = [
            ("?x\r\n", .unknownType(UInt8(ascii: "?"))),
            (":12a\r\n", .invalidInteger),
            ("$x\r\n", .invalidLength),
            ("$-2\r\n", .invalidLength),
            ("*-5\r\n", .invalidLength),
            ("$3\r\nabcde", .missingCRLF),
            ("+OK\rX", .missingCRLF),
        ]
        for (text, failure) in cases {
            #expect(throws: failure, "\(text)") { try Self.decodeAll(text) }
        }
    }

    @Test func boundsOnWhatAServerSends() {
        var limits = RESPDecoder.Limits()
        limits.maxBulkBytes = 10
        limits.maxArrayElements = 3
        limits.maxDepth = 3
        limits.maxLineBytes = 16
        #expect(throws: RESPDecoder.Failure.tooLarge) { try Self.decodeAll("$11\r\n", limits: limits) }
        #expect(throws: RESPDecoder.Failure.tooLarge) { try Self.decodeAll("*4\r\n", limits: limits) }
        #expect(throws: RESPDecoder.Failure.tooDeep) {
            try Self.decodeAll("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", limits: limits)
        }
        #expect(throws: RESPDecoder.Failure.lineTooLong) {
            try Self.decodeAll("+" + String(repeating: "a", count: 40), limits: limits)
        }
    }

    @Test func commandsGoOutAsArraysOfBulkStrings() {
        var buffer = ByteBuffer()
        RESPEncoder.encode(["INCRBY", "ratelimit:ключ", "1"], into: &buffer)
        #expect(
            String(buffer: buffer)
                == "*3\r\n$6\r\nINCRBY\r\n$\("ratelimit:ключ".utf8.count)\r\nratelimit:ключ\r\n$1\r\n1\r\n"
        )
    }
}

/// A tiny deterministic generator for the fuzz test (no global randomness in tests).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
