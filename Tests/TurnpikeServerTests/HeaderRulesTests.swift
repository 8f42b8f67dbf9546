import NIOCore
import NIOHTTP1
import Testing
import TurnpikePlugins

@testable import TurnpikeServer

/// The heads the proxy writes itself (kong/runloop/handler.lua, kong/templates/nginx_kong.lua), checked byte for byte.
@Suite struct HeaderRulesTests {
    static let rid = RequestID(high: 0x0a, low: 0xff)
    static func text(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }

    static func forwarding(chunked: Bool = false, webSocket: Bool = false) -> HeaderRules.Forwarding {
        HeaderRules.Forwarding(
            host: "up.local:8080",
            clientAddress: "10.0.0.9",
            forwardedHost: "example.com",
            forwardedPort: "8000",
            forwardedPath: "/api/x",
            forwardedPrefix: Array("/api".utf8)[...],
            requestID: Self.rid,
            via: "1.1 turnpike/0.1.0",
            webSocketUpgrade: webSocket,
            chunkedBody: chunked
        )
    }

    /// The client's head as the request parser reads it.
    static func request(_ headers: HTTPHeaders, line: String = "GET /x HTTP/1.1") throws -> RequestHead {
        var text = line + "\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        return try RequestParser.parseHead(ByteBuffer(string: text + "\r\n"), limits: RequestParser.Limits())
    }

    static func upstreamHead(_ client: HTTPHeaders, edits: UpstreamEdits? = nil, chunked: Bool = false) throws -> String
    {
        let parsed = try Self.request(client)
        // A small first guess: the writer must grow and start again.
        let head = HeadWriter.write(allocator: ByteBufferAllocator(), capacity: 16) { writer in
            writer.raw("GET /x?a=1 HTTP/1.1\r\n")
            HeaderRules.writeUpstreamHeaders(
                into: &writer,
                client: parsed,
                forwarding: Self.forwarding(chunked: chunked),
                edits: edits
            )
        }
        return Self.text(head)
    }

    @Test func pathsArePercentEncodedAsTheyAreWritten() {
        let path: [UInt8] = Array("/a b/%41/ü".utf8) + [0x0D, 0x0A, 0x7F, 0x00] + Array("/x~y;z=1".utf8)
        // Capacity 64 is too small for a long path: the writer retries with more room.
        let long = [UInt8](repeating: 0x20, count: 100)
        for (input, expected) in [
            (path, "/a%20b/%41/%C3%BC%0D%0A%7F%00/x~y;z=1"),
            (long, String(repeating: "%20", count: 100)),
            ([], ""),
        ] {
            let buffer = HeadWriter.write(allocator: ByteBufferAllocator(), capacity: 0) { writer in
                writer.percentEncoded(input[...], keeping: HeaderRules.isPathSafe)
            }
            #expect(Self.text(buffer) == expected + "\r\n")
        }
    }

    @Test func aConnectionsHeadBufferIsReusedOnlyOnceNothingElseHoldsIt() {
        let allocator = ByteBufferAllocator()
        var buffer = ByteBuffer()
        func write(_ text: String, capacity: Int = 16) {
            HeadWriter.write(into: &buffer, allocator: allocator, capacity: capacity) { $0.raw(text) }
        }
        func storage(_ b: ByteBuffer) -> UnsafeRawPointer? {
            b.withUnsafeReadableBytes { UnsafeRawPointer($0.baseAddress) }
        }
        write("HTTP/1.1 200 OK\r\n")
        let first = storage(buffer)
        // Nothing else holds it (the channel has sent it): the next head goes into the same memory.
        write("HTTP/1.1 404 Not Found\r\n")
        #expect(Self.text(buffer) == "HTTP/1.1 404 Not Found\r\n\r\n")
        #expect(storage(buffer) == first)
        // A head still being sent is never overwritten: the next one gets memory of its own.
        let inFlight = buffer
        write("HTTP/1.1 204 No Content\r\n")
        #expect(Self.text(inFlight) == "HTTP/1.1 404 Not Found\r\n\r\n")
        #expect(Self.text(buffer) == "HTTP/1.1 204 No Content\r\n\r\n")
        #expect(storage(buffer) != storage(inFlight))
        // A head larger than the first guess (and than the kept buffer) still comes out whole; a
        // buffer grown past the kept size is let go at the next head.
        let large = String(repeating: "x", count: HeadWriter.retainedCapacity + 100)
        write(large)
        #expect(Self.text(buffer) == large + "\r\n")
        #expect(buffer.capacity > HeadWriter.retainedCapacity)
        write("HTTP/1.1 200 OK\r\n")
        #expect(buffer.capacity <= HeadWriter.retainedCapacity)
        #expect(Self.text(buffer) == "HTTP/1.1 200 OK\r\n\r\n")
    }

    @Test func upstreamRequestHeadIsKongs() throws {
        let client: HTTPHeaders = [
            "Host": "example.com:8000", "User-Agent": "curl/8", "X-Forwarded-For": "1.2.3.4", "Via": "1.0 edge",
            "X-Real-IP": "6.6.6.6", "X-Forwarded-Proto": "https", "Accept": "*/*",
        ]
        #expect(
            try Self.upstreamHead(client) == """
                GET /x?a=1 HTTP/1.1\r
                User-Agent: curl/8\r
                Accept: */*\r
                Host: up.local:8080\r
                X-Forwarded-For: 1.2.3.4, 10.0.0.9\r
                X-Forwarded-Proto: http\r
                X-Forwarded-Host: example.com\r
                X-Forwarded-Port: 8000\r
                X-Forwarded-Path: /api/x\r
                X-Forwarded-Prefix: /api\r
                X-Real-IP: 10.0.0.9\r
                Via: 1.0 edge, 1.1 turnpike/0.1.0\r
                X-Kong-Request-Id: 000000000000000a00000000000000ff\r
                Connection: keep-alive\r
                \r

                """
        )
    }

    /// kong/runloop/handler.lua, `access.after`: the headers named in `Connection` are cleared,
    /// and `Proxy` and `Proxy-Connection`; `TE` becomes `trailers` when the client listed it;
    /// nginx's proxy module drops `Keep-Alive`, `Expect` and `Upgrade` (Kong sets `Upgrade` for
    /// WebSocket only). `Trailer` and `Proxy-Authenticate` are relayed: nothing clears them.
    @Test func hopByHopAndConnectionListedHeadersAreDropped() throws {
        let client: HTTPHeaders = [
            "Host": "h", "Connection": "keep-alive, X-Secret", "X-Secret": "s", "Keep-Alive": "timeout=5",
            "Proxy-Connection": "keep-alive", "Proxy": "http://evil", "Upgrade": "h2c", "Trailer": "X-Sum",
            "Transfer-Encoding": "chunked", "TE": "deflate , Trailers", "Expect": "100-continue",
            "Proxy-Authenticate": "Basic", "Proxy-Authorization": "Basic eA==", "X-Kept": "yes",
        ]
        let head = try Self.upstreamHead(client, chunked: true)
        for gone in ["X-Secret", "Keep-Alive", "Proxy-Connection", "Proxy:", "Upgrade", "Expect", "deflate"] {
            #expect(!head.contains(gone), "\(gone) forwarded")
        }
        for kept in ["X-Kept: yes", "Trailer: X-Sum", "Proxy-Authenticate: Basic", "Proxy-Authorization: Basic eA=="] {
            #expect(head.contains(kept + "\r\n"), "\(kept) dropped")
        }
        #expect(head.contains("TE: trailers\r\n"))
        #expect(head.contains("Transfer-Encoding: chunked\r\n"))
        #expect(head.hasSuffix("Connection: keep-alive\r\n\r\n"))
    }

    /// `TE` is sent upstream only as `trailers`, and only when the client listed that token.
    @Test(arguments: [
        ("trailers", true), ("gzip, trailers", true), ("TRAILERS", true), ("trailers;q=1", false),
        ("xtrailersx", false), ("gzip", false),
    ])
    func teIsReducedToTrailers(value: String, asked: Bool) throws {
        let head = try Self.upstreamHead(["Host": "h", "TE": value])
        #expect(head.contains("TE: trailers\r\n") == asked)
        #expect(try Self.request(["Host": "h", "TE": value]).asksTrailers == asked)
    }

    /// kong/runloop/handler.lua, `header_filter.before`: the response keeps `Trailer` only when
    /// the client's TE asked for trailers; names listed in `Connection` go; `Proxy`,
    /// `Proxy-Connection` and `Proxy-Authenticate` are relayed (Kong clears them from requests only).
    @Test func responseHopByHopAsKong() throws {
        let head = try Self.parsed(
            "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nConnection: X-Gone\r\nX-Gone: 1\r\nProxy-Authenticate: Basic\r\n"
                + "Proxy-Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n"
        )
        let asked = Self.headerLines(head, clientAcceptsTrailers: true)
        let notAsked = Self.headerLines(head)
        #expect(asked.contains("Trailer: X-Sum\r\n"))
        #expect(!notAsked.contains("Trailer"))
        for text in [asked, notAsked] {
            #expect(!text.contains("X-Gone") && !text.contains("Keep-Alive") && !text.contains("Connection: X"))
            #expect(text.contains("Proxy-Authenticate: Basic\r\n") && text.contains("Proxy-Connection: keep-alive\r\n"))
        }
    }

    @Test func contentLengthGoesUpOnceAsParsed() throws {
        let head = try Self.upstreamHead(["Host": "h", "Content-Length": "5, 5"])
        #expect(head.contains("Content-Length: 5\r\n"))
        #expect(!head.contains("5, 5"))
    }

    @Test func pluginEditsReplaceClientHeadersAndCannotInjectLines() throws {
        var edits = UpstreamEdits()
        edits.setHeader("X-Consumer-Username", "alice\r\nX-Evil: 1")
        edits.setHeader("apikey", nil)
        let client: HTTPHeaders = ["Host": "h", "x-consumer-username": "forged", "ApiKey": "secret"]
        let head = try Self.upstreamHead(client, edits: edits)
        #expect(!head.contains("forged"))
        #expect(!head.contains("secret"))
        #expect(head.contains("X-Consumer-Username: alice  X-Evil: 1\r\n"))
        #expect(!head.contains("\nX-Evil"))
    }

    static func parsed(_ text: String) throws -> ResponseHead {
        try ResponseParser.parseHead(ByteBuffer(string: text))
    }

    static func clientHead(
        _ head: ResponseHead,
        edits: ResponseContext? = nil,
        version: HTTPVersion = .http1_1
    ) -> String {
        Self.text(
            head.bytes.withUnsafeReadableBytes { raw in
                HeadWriter.write(allocator: ByteBufferAllocator(), capacity: 16) { writer in
                    writer.statusLine(version: version, code: head.status, reason: head.reasonPhrase)
                    HeaderRules.writeClientResponseHeaders(
                        into: &writer,
                        upstream: head,
                        raw: raw,
                        via: "1.1 turnpike/0.1.0",
                        serverToken: "turnpike/0.1.0",
                        upstreamLatencyMs: 12,
                        proxyLatencyMs: 0,
                        requestID: Self.rid,
                        edits: edits?.headerEdits
                    )
                }
            }
        )
    }

    /// The header lines written for `head`, without a status line.
    static func headerLines(
        _ head: ResponseHead,
        dates: HTTPDateCache? = nil,
        clientAcceptsTrailers: Bool = false
    ) -> String {
        Self.text(
            head.bytes.withUnsafeReadableBytes { raw in
                HeadWriter.write(allocator: ByteBufferAllocator(), capacity: 16) { writer in
                    HeaderRules.writeClientResponseHeaders(
                        into: &writer,
                        upstream: head,
                        raw: raw,
                        via: "v",
                        serverToken: "t",
                        upstreamLatencyMs: 0,
                        proxyLatencyMs: 0,
                        requestID: Self.rid,
                        dates: dates,
                        clientAcceptsTrailers: clientAcceptsTrailers
                    )
                }
            }
        )
    }

    @Test func clientResponseHeadIsKongs() throws {
        let head = try Self.parsed(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
                + "Keep-Alive: timeout=5\r\nVia: 1.1 upstream\r\nX-App:a\r\nX-Empty:\r\n\r\n"
        )
        #expect(head.contentLength == 6 && head.hasConnectionOptions && !head.hasTransferEncoding && head.keepAlive)
        #expect(
            Self.clientHead(head) == """
                HTTP/1.1 200 OK\r
                Content-Type: text/plain\r
                Content-Length: 6\r
                X-App:a\r
                X-Empty:\r
                Server: turnpike/0.1.0\r
                Via: 1.1 upstream, 1.1 turnpike/0.1.0\r
                X-Kong-Upstream-Latency: 12\r
                X-Kong-Proxy-Latency: 0\r
                X-Kong-Request-Id: 000000000000000a00000000000000ff\r
                \r

                """
        )
    }

    @Test func upstreamServerHeaderIsKeptAndEditsApply() throws {
        let head = try Self.parsed("HTTP/1.0 599 Odd\r\nServer: nginx\r\nX-Drop: 1\r\nContent-Length: 0\r\n\r\n")
        #expect(!head.keepAlive)
        var edits = ResponseContext(status: 599, requestID: Self.rid, consumer: nil)
        edits.setHeader("x-drop", nil)
        edits.setHeader("Via", nil)
        edits.setHeader("X-Added", "a\r\nb")
        let text = Self.clientHead(head, edits: edits, version: .http1_0)
        #expect(text.hasPrefix("HTTP/1.0 599 Odd\r\nServer: nginx\r\n"))
        #expect(!text.contains("Server: turnpike"))
        #expect(!text.contains("X-Drop") && !text.contains("Via"))
        #expect(text.contains("X-Added: a  b\r\n"))
    }

    @Test func datesAsNginxSendsThem() throws {
        #expect(HTTPDateCache.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDateCache.format(1_795_936_694) == "Sun, 29 Nov 2026 07:18:14 GMT")
        let dates = HTTPDateCache()
        let write = { (head: ResponseHead) in Self.headerLines(head, dates: dates) }
        // The upstream's Date passes; a response without one gets the gateway's.
        let dated = write(try Self.parsed("HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n"))
        #expect(dated.split(separator: "\r\n").filter { $0.hasPrefix("Date:") }.count == 1)
        #expect(dated.contains("Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"))
        let undated = write(try Self.parsed("HTTP/1.1 200 OK\r\n\r\n"))
        #expect(undated.split(separator: "\r\n").filter { $0.hasPrefix("Date: ") }.count == 1)
    }

    @Test func lengthBesideTransferEncodingIsNotRelayed() throws {
        let head = try Self.parsed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
        #expect(head.chunked && head.contentLength == nil)
        let text = Self.clientHead(head)
        #expect(!text.contains("Content-Length") && !text.contains("Transfer-Encoding"))
    }

    @Test func decimalsAndChunks() {
        for n: Int64 in [0, 7, 10, 99, 1234567890, -42, .max, .min + 1] {
            let b = HeadWriter.write(allocator: ByteBufferAllocator(), capacity: 8) { $0.decimal(n) }
            #expect(String(buffer: b) == String(n) + "\r\n")
        }
        let chunk = ChunkedFraming.chunk(
            ByteBuffer(string: String(repeating: "a", count: 26)),
            allocator: ByteBufferAllocator()
        )
        #expect(String(buffer: chunk) == "1a\r\n" + String(repeating: "a", count: 26) + "\r\n")
        #expect(String(buffer: ChunkedFraming.terminator(allocator: ByteBufferAllocator())) == "0\r\n\r\n")
    }

    @Test func forwardedHostDropsThePortAndLowerCases() {
        #expect(ClientConnection.forwardedHost("Example.COM:8000") == "example.com")
        #expect(ClientConnection.forwardedHost("example.com") == "example.com")
        #expect(ClientConnection.forwardedHost("[::1]:8000") == "[::1]")
        #expect(ClientConnection.forwardedHost("host:abc") == "host:abc")
    }

    @Test func requestParserFindsFramingAndHost() throws {
        let head = try Self.request(
            [
                "HOST": "a", "Content-Length": "3", "Connection": "upgrade", "upgrade": "websocket",
                "Expect": "100-continue",
            ],
            line: "POST /p?q HTTP/1.1"
        )
        #expect(head.host == "a" && head.hostCount == 1)
        #expect(
            head.contentLength == 3 && !head.chunked && !head.hasConnectionOptions && head.hasUpgrade && head.hasExpect
        )
        #expect(head.asksUpgrade && head.isKeepAlive && head.method == .POST && head.uri == "/p?q")
        #expect(HeaderRules.isWebSocketUpgrade(head))
        let old = try Self.request(["Connection": "keep-alive"], line: "GET / HTTP/1.0")
        #expect(old.isKeepAlive && old.version == .http1_0)
        #expect(try !Self.request([:], line: "GET / HTTP/1.0").isKeepAlive)
        #expect(try !Self.request(["Connection": "close"]).isKeepAlive)
        #expect(try Self.request([:], line: "PURGE / HTTP/1.1").method == .RAW(value: "PURGE"))
    }
}
