import NIOCore
import Testing

@testable import TurnpikeServer

/// The upstream response parser (RFC 9112 framing), fed in every split.
@Suite struct ResponseParserTests {
    enum Seen: Equatable {
        case head(Int)
        case body(String)
        case end
    }

    /// Feeds `text` cut into pieces of `step` bytes; adjacent body parts are merged.
    static func run(_ text: String, head isHEAD: Bool = false, step: Int = .max, eof: Bool = false) throws -> [Seen] {
        var parser = ResponseParser()
        parser.expectResponse(toHEAD: isHEAD)
        var seen: [Seen] = []
        let emit: (ResponseParser.Event) -> Void = { event in
            switch event {
            case .head(let h): seen.append(.head(h.status))
            case .body(let b):
                if case .body(let prior) = seen.last {
                    seen[seen.count - 1] = .body(prior + String(buffer: b))
                } else {
                    seen.append(.body(String(buffer: b)))
                }
            case .end: seen.append(.end)
            }
        }
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            var piece = ByteBuffer(bytes: bytes[i..<min(bytes.count, i + step)])
            try parser.feed(&piece, emit)
            i += step == .max ? bytes.count : step
        }
        if eof { try parser.feedEOF(emit) }
        return seen
    }

    @Test(arguments: [1, 2, 3, 7, Int.max])
    func framings(step: Int) throws {
        #expect(
            try Self.run("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", step: step) == [
                .head(200), .body("hello"), .end,
            ]
        )
        #expect(
            try Self.run(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
                step: step
            )
                == [.head(200), .body("hello world"), .end]
        )
        #expect(try Self.run("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", step: step) == [.head(204), .end])
        #expect(
            try Self.run("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", head: true, step: step) == [.head(200), .end]
        )
        #expect(
            try Self.run("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", step: step) == [
                .head(200), .end,
            ]
        )
        #expect(
            try Self.run("HTTP/1.0 200 OK\r\n\r\nuntil close", step: step, eof: true) == [
                .head(200), .body("until close"), .end,
            ]
        )
        #expect(
            try Self.run("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", step: step) == [
                .head(101), .end,
            ]
        )
    }

    @Test func keepAliveRules() throws {
        #expect(
            try ResponseParser.parseHead(ByteBuffer(string: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")).keepAlive
                == false
        )
        #expect(
            try ResponseParser.parseHead(ByteBuffer(string: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n"))
                .keepAlive
        )
        #expect(
            try ResponseParser.parseHead(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n"))
                .contentLength == 1
        )
    }

    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: a\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX : a\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\u{1}b\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nextra",
    ])
    func invalidResponsesAreRejected(text: String) {
        #expect(throws: ResponseParser.Failure.self) { try Self.run(text) }
    }

    @Test func truncatedBodiesAreErrorsAtEOF() {
        #expect(throws: ResponseParser.Failure.self) {
            try Self.run("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", eof: true)
        }
        #expect(throws: ResponseParser.Failure.self) {
            try Self.run("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", eof: true)
        }
    }

    @Test func oversizedHeadIsRejected() {
        let huge = "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: ResponseParser.maxHeadBytes) + "\r\n\r\n"
        #expect(throws: ResponseParser.Failure.self) { try Self.run(huge, step: 4096) }
    }
}
