import NIOCore
import NIOHTTP1
import Testing

@testable import TurnpikeServer

/// The client request parser (RFC 9112): framing in every split, what it refuses and why.
@Suite struct RequestParserTests {
    enum Seen: Equatable {
        case head(String)
        case body(String)
        case end
    }

    /// Feeds `text` in pieces of `step` bytes, taking one message after another as the proxy does.
    static func run(_ text: String, step: Int = .max, limits: RequestParser.Limits = .init()) throws -> [Seen] {
        var parser = RequestParser(limits: limits)
        var seen: [Seen] = []
        let emit: (RequestParser.Event) -> Void = { event in
            switch event {
            case .head(let h): seen.append(.head("\(h.method.rawValue) \(h.uri)"))
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
        var carry = ByteBuffer()
        var i = 0
        while i < bytes.count {
            carry.writeBytes(bytes[i..<min(bytes.count, i + step)])
            i += step == .max ? bytes.count : step
            while true {
                try parser.feed(&carry, emit)
                guard carry.readableBytes > 0, parser.isAtMessageBoundary else { break }
                parser.next()
            }
        }
        return seen
    }

    @Test(arguments: [1, 2, 5, 13, Int.max])
    func messagesInEverySplit(step: Int) throws {
        let pipelined =
            "GET /a HTTP/1.1\r\nHost: h\r\n\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
            + "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n"
        #expect(
            try Self.run(pipelined, step: step) == [
                .head("GET /a"), .end, .head("POST /b"), .body("hello"), .end, .head("PUT /c"), .body("abcde"), .end,
            ]
        )
    }

    @Test(arguments: [
        (
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            HTTPWireError.invalid("")
        ),
        ("GET / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", .invalid("")),
        ("GET / HTTP/1.1\r\nContent-Length: +3\r\n\r\n", .invalid("")),
        ("GET / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .unsupportedTransferEncoding),
        ("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", .invalid("")),
        ("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .invalid("")),
        ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", .invalid("")),
        ("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", .invalid("")),
        ("GET / HTTP/1.1\nHost: a\n\n", .invalid("")),
        ("GET / HTTP/1.1\r\nX: a\nY: b\r\n\r\n", .invalid("")),
        ("GET /a b HTTP/1.1\r\n\r\n", .invalid("")),
        ("GET / HTTP/2.0\r\n\r\n", .invalid("")),
        ("G(T / HTTP/1.1\r\n\r\n", .invalid("")),
        ("GET / HTTP/1.1\r\nX: \u{7f}\r\n\r\n", .invalid("")),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .invalid("")),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\nGET /x HTTP/1.1\r\n\r\n", .invalid("")),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: \u{1}\r\n\r\n", .invalid("")),
        (
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "e", count: 20000) + "\r\n",
            .invalid("")
        ),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX", .invalid("")),
    ])
    func refused(text: String, error: HTTPWireError) {
        do {
            _ = try Self.run(text)
            Issue.record("accepted: \(text.debugDescription)")
        } catch let failure as HTTPWireError {
            switch (failure, error) {
            case (.invalid, .invalid), (.unsupportedTransferEncoding, .unsupportedTransferEncoding): break
            default: Issue.record("\(failure) for \(text.debugDescription)")
            }
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func limits() {
        var limits = RequestParser.Limits()
        limits.maxURIBytes = 100
        limits.maxHeaderSectionBytes = 1000
        #expect(throws: HTTPWireError.uriTooLong) {
            try Self.run("GET /" + String(repeating: "a", count: 200) + " HTTP/1.1\r\n\r\n", limits: limits)
        }
        // Still in the request line and already too long: refused before the line ends.
        #expect(throws: HTTPWireError.uriTooLong) {
            try Self.run("GET /" + String(repeating: "a", count: 200), limits: limits)
        }
        #expect(throws: HTTPWireError.headTooLarge) {
            try Self.run(
                "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 2000) + "\r\n\r\n",
                step: 100,
                limits: limits
            )
        }
    }

    /// Kong keeps nginx's `large_client_header_buffers 4 8k` (kong/templates/kong_defaults.lua
    /// sets no other): a header line must fit one 8 KiB buffer and the section all four; both
    /// failures are nginx's 494, which kong/error_handlers.lua answers as 400.
    @Test func headerLimitsAreNginxBuffers() throws {
        func head(_ lines: [String]) -> String { "GET / HTTP/1.1\r\n" + lines.map { $0 + "\r\n" }.joined() + "\r\n" }
        // A line of exactly 8 KiB with its CRLF fits; one byte more does not, in any split.
        let fits = "X-A: " + String(repeating: "v", count: 8 * 1024 - 7)
        #expect(try Self.run(head([fits])) == [.head("GET /"), .end])
        for step in [.max, 1000, 7] {
            #expect(throws: HTTPWireError.headTooLarge) { try Self.run(head([fits + "v"]), step: step) }
        }
        // Four lines of 8 KiB fill the section; a fifth small line is too much.
        let four = (0..<4).map { "X-\($0): " + String(repeating: "v", count: 8 * 1024 - 7) }
        #expect(try Self.run(head(four)) == [.head("GET /"), .end])
        #expect(throws: HTTPWireError.headTooLarge) { try Self.run(head(four + ["X: y"])) }
        // Still arriving and already past the bound: refused before the head ends.
        let partial = "GET / HTTP/1.1\r\n" + four.map { $0 + "\r\n" }.joined() + "X: y"
        #expect(throws: HTTPWireError.headTooLarge) { try Self.run(partial) }
        #expect(try Self.run(String(partial.dropLast(2))) == [])
        // The count alone is not a limit (Kong reads the first 100, forwards the rest).
        #expect(try Self.run(head((0..<500).map { "X-\($0): v" })) == [.head("GET /"), .end])
    }

    @Test func upgradeRequestHoldsWhatFollows() throws {
        var parser = RequestParser(limits: .init())
        var buffer = ByteBuffer(
            string: "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\u{1}\u{2}"
        )
        var events = 0
        try parser.feed(&buffer) { _ in events += 1 }
        #expect(events == 2)
        #expect(parser.isHoldingUpgrade)
        #expect(buffer.readableBytes == 2)
    }

    /// nginx's defaults in Kong (`ignore_invalid_headers on`, `underscores_in_headers off`): a
    /// field whose name has anything but letters, digits and `-` is dropped, and framing fields
    /// with such names do not count (a `Content_Length` frames nothing).
    @Test func fieldsNginxIgnoresAreDropped() throws {
        var parser = RequestParser(limits: .init())
        var buffer = ByteBuffer(
            string:
                "GET / HTTP/1.1\r\nHost: h\r\nX_Consumer_ID: spoof\r\nX.Dot: 1\r\nX-Ok: 2\r\nContent_Length: 5\r\n\r\n"
        )
        var head: RequestHead?
        var ended = false
        try parser.feed(&buffer) { event in
            switch event {
            case .head(let h): head = h
            case .end: ended = true
            case .body: break
            }
        }
        let h = try #require(head)
        #expect(h.fields.count == 2)
        #expect(h.values("x_consumer_id").isEmpty && h.values("x.dot").isEmpty && h.values("x-ok") == ["2"])
        #expect(ended)
    }
}

/// Random and mutated input never crashes or hangs either parser: it parses or throws.
@Suite struct HTTP1ParserRobustnessTests {
    struct Rng: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            self.state = self.state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return self.state >> 11 ^ self.state
        }
    }

    static let seeds: [String] = [
        "GET /a?b=c HTTP/1.1\r\nHost: h\r\nX: y\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
        "PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: v\r\n\r\n",
    ]

    @Test func mutatedMessagesParseOrFail() {
        var rng = Rng(state: 42)
        let alphabet = Array("\r\n :;0123456789abcdefABCDEF-HTTP/.\t\u{0}\u{7f}\u{ff}".utf8)
        for round in 0..<3000 {
            var bytes = Array(Self.seeds[round % Self.seeds.count].utf8)
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                default: bytes.remove(at: at)
                }
            }
            let step = 1 + Int(rng.next() % 16)
            var request = RequestParser(limits: .init())
            var response = ResponseParser()
            response.expectResponse(toHEAD: false)
            var requestFailed = false
            var responseFailed = false
            var i = 0
            while i < bytes.count {
                let piece = bytes[i..<min(bytes.count, i + step)]
                i += step
                if !requestFailed {
                    var buffer = ByteBuffer(bytes: piece)
                    do {
                        // Take every message the bytes hold, as the proxy does.
                        while true {
                            try request.feed(&buffer) { _ in }
                            guard buffer.readableBytes > 0, request.isAtMessageBoundary else { break }
                            request.next()
                        }
                    } catch { requestFailed = true }
                }
                if !responseFailed {
                    var buffer = ByteBuffer(bytes: piece)
                    do { try response.feed(&buffer) { _ in } } catch { responseFailed = true }
                }
            }
            try? response.feedEOF { _ in }
        }
    }
}
