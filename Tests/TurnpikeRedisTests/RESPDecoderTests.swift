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
