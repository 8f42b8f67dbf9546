import NIOCore
import NIOHTTP1

/// A client request head, parsed in place: header fields are ranges into `bytes`, so the proxy
/// copies the lines it forwards straight into the upstream head, and makes a `String` only of
/// what it reads (Host, the target, a plugin's headers).
///
/// A class: the pipeline, the access phase and the upstream head all read it, and a copy is one
/// retain rather than one per string and buffer in it.
final class RequestHead: ParsedHead, Sendable {
    let bytes: ByteBuffer
    let method: HTTPMethod
    let uri: String
    let version: HTTPVersion
    let fields: [(name: Range<Int>, value: Range<Int>)]
    /// Keep-alive by the version's default and the Connection options.
    let isKeepAlive: Bool
    let host: String?
    let hostCount: Int
    let contentLength: Int?
    let chunked: Bool
    let hasTransferEncoding: Bool
    /// The Connection field names other fields, which must not be forwarded.
    let hasConnectionOptions: Bool
    let hasUpgrade: Bool
    /// `Connection: upgrade` with an `Upgrade` field: the request may switch protocols.
    let asksUpgrade: Bool
    let hasExpect: Bool
    /// A `TE` field lists `trailers`: the upstream gets `TE: trailers` and may send `Trailer`.
    let asksTrailers: Bool

    init(
        bytes: ByteBuffer,
        method: HTTPMethod,
        uri: String,
        version: HTTPVersion,
        fields: [(name: Range<Int>, value: Range<Int>)],
        isKeepAlive: Bool,
        host: String?,
        hostCount: Int,
        contentLength: Int?,
        chunked: Bool,
        hasTransferEncoding: Bool,
        hasConnectionOptions: Bool,
        hasUpgrade: Bool,
        asksUpgrade: Bool,
        hasExpect: Bool,
        asksTrailers: Bool
    ) {
        self.bytes = bytes
        self.method = method
        self.uri = uri
        self.version = version
        self.fields = fields
        self.isKeepAlive = isKeepAlive
        self.host = host
        self.hostCount = hostCount
        self.contentLength = contentLength
        self.chunked = chunked
        self.hasTransferEncoding = hasTransferEncoding
        self.hasConnectionOptions = hasConnectionOptions
        self.hasUpgrade = hasUpgrade
        self.asksUpgrade = asksUpgrade
        self.hasExpect = hasExpect
        self.asksTrailers = asksTrailers
    }

    var headerCount: Int { self.fields.count }

    /// The message ends with its head (no chunked body, no positive Content-Length).
    var isBodiless: Bool { !self.chunked && (self.contentLength ?? 0) == 0 }

    /// `Expect: 100-continue`: the client waits for a 100 before it sends the body.
    var expectsContinue: Bool {
        self.hasExpect && self.first(name: "expect")?.lowercased() == "100-continue"
    }

    /// The first `limit` fields as strings, in order (for plugins and header-matching routes).
    /// Kong reads at most `lua_max_req_headers` (100) of them; the rest are forwarded unread.
    func stringPairs(limit: Int) -> [(name: String, value: String)] {
        let count = min(limit, self.fields.count)
        var out: [(name: String, value: String)] = []
        out.reserveCapacity(count)
        for i in 0..<count { out.append((self.name(i), self.value(i))) }
        return out
    }
}

/// The client side's HTTP/1.x request parser (RFC 9112), in place of NIO's decoder. Strict where
/// a lenient reading lets two parsers disagree on where a message ends (request smuggling):
/// Content-Length with Transfer-Encoding, differing lengths, bad chunk sizes, obs-fold, whitespace
/// before a colon, bare LF. It stops after each message; `HTTP1ServerHandler` feeds it again when the
/// connection may take the next request, so pipelined requests wait as bytes.
struct RequestParser {
    enum Event {
        case head(RequestHead)
        case body(ByteBuffer)
        case end
    }

    /// nginx's `large_client_header_buffers 4 8k`, which Kong keeps: a request line longer than
    /// one buffer is 414; a header line that does not fit one buffer, or a header section that
    /// does not fit all four, is nginx's 494, which Kong answers as 400 (kong/error_handlers.lua).
    struct Limits {
        var maxURIBytes = 8 * 1024
        /// One header field line, CRLF included.
        var maxHeaderLineBytes = 8 * 1024
        /// All header field lines, CRLF included (the request line not counted).
        var maxHeaderSectionBytes = 32 * 1024

        /// The bound on a head still arriving: the longest request line plus the largest section.
        var maxHeadBytes: Int { self.maxURIBytes + 64 + self.maxHeaderSectionBytes + 2 }
        /// Fields are at least 4 bytes (`a:` CRLF), so the section bound bounds their count too.
        var maxFields: Int { self.maxHeaderSectionBytes / 4 + 1 }
    }

    private enum State {
        case head
        case fixed(remaining: Int)
        case chunked
        /// A message ended; the next head waits for `next()`.
        case between
        /// After an upgrade request: the rest of the bytes may be another protocol.
        case upgradeHeld
    }

    let limits: Limits
    private var state = State.head
    private var chunks = ChunkedDecoder()
    private var pending = PendingHead()
    /// The field ranges of the last head, shared with it: reused once that head is gone.
    private var fieldStorage: [(name: Range<Int>, value: Range<Int>)] = []

    init(limits: Limits) {
        self.limits = limits
    }

    /// True when the next bytes would start a message (after `next()` if between messages).
    var isAtMessageBoundary: Bool {
        switch self.state {
        case .between, .head: return true
        default: return false
        }
    }

    var isHoldingUpgrade: Bool {
        if case .upgradeHeld = self.state { return true }
        return false
    }

    /// Allows the next message (after `.end`, once the connection is ready for it).
    mutating func next() {
        switch self.state {
        case .between, .upgradeHeld: self.state = .head
        default: break
        }
    }

    /// Parses what it can of `buffer`: at most up to the end of one message. Bytes of a next
    /// message, or after an upgrade request, stay in `buffer`.
    mutating func feed(_ buffer: inout ByteBuffer, _ emit: (Event) -> Void) throws {
        while buffer.readableBytes > 0 {
            switch self.state {
            case .between, .upgradeHeld:
                return
            case .head:
                guard let head = try self.readHead(&buffer) else { return }
                emit(.head(head))
                if head.chunked {
                    self.state = .chunked
                    self.chunks = ChunkedDecoder()
                } else if let length = head.contentLength, length > 0 {
                    self.state = .fixed(remaining: length)
                } else {
                    self.state = head.asksUpgrade ? .upgradeHeld : .between
                    emit(.end)
                }
            case .fixed(let remaining):
                let n = min(remaining, buffer.readableBytes)
                emit(.body(buffer.readSlice(length: n)!))
                if n == remaining {
                    self.state = .between
                    emit(.end)
                } else {
                    self.state = .fixed(remaining: remaining - n)
                }
            case .chunked:
                if try self.chunks.read(&buffer, { emit(.body($0)) }) {
                    self.state = .between
                    emit(.end)
                }
            }
        }
    }

    /// A head, when complete; nil when more bytes are needed.
    private mutating func readHead(_ buffer: inout ByteBuffer) throws -> RequestHead? {
        let limits = self.limits
        let end = try self.pending.next(
            &buffer,
            prepare: { buffer in
                // Empty lines before a request line are ignored (RFC 9112 §2.2).
                while buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == 0x0D,
                    buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) == 0x0A
                {
                    buffer.moveReaderIndex(forwardBy: 2)
                }
            },
            checkPartial: { try Self.checkPartialHead($0, from: $1, limits: limits) }
        )
        guard let end else { return nil }
        if end > self.limits.maxHeadBytes { throw HTTPWireError.headTooLarge }
        let bytes = buffer.readSlice(length: end)!
        return try Self.parseHead(bytes, limits: self.limits, fields: &self.fieldStorage)
    }

    /// An incomplete head that is already too long: 414 while still in the request line, else
    /// too large (400).
    private static func checkPartialHead(_ buffer: ByteBuffer, from: Int, limits: Limits) throws {
        // A bare LF would never end the head: refuse it now rather than wait for a timeout. Only
        // the bytes not checked at an earlier read are looked at.
        let view = buffer.readableBytesView
        var previous: UInt8 = 0
        var i = view.startIndex + max(0, from - 1)
        if i > view.startIndex { previous = view[i - 1] }
        while i < view.endIndex {
            let c = view[i]
            if c == 0x0A && previous != 0x0D { throw HTTPWireError.invalid("bare LF") }
            previous = c
            i += 1
        }
        guard let lineEnd = view.firstIndex(of: 0x0A) else {
            if buffer.readableBytes > limits.maxURIBytes + 64 { throw HTTPWireError.uriTooLong }
            return
        }
        // Past the request line: the section so far, and the line still arriving, against the
        // limits the complete head will be held to (both scans are bounded by those limits).
        let section = view.endIndex - (lineEnd + 1)
        let lastLineStart = (view.lastIndex(of: 0x0A) ?? lineEnd) + 1
        if section > limits.maxHeaderSectionBytes + 2 || view.endIndex - lastLineStart > limits.maxHeaderLineBytes {
            throw HTTPWireError.headTooLarge
        }
    }

    static func parseHead(_ bytes: ByteBuffer, limits: Limits) throws -> RequestHead {
        var fields: [(name: Range<Int>, value: Range<Int>)] = []
        return try Self.parseHead(bytes, limits: limits, fields: &fields)
    }

    /// Parses a head; `fields` is the storage for its field ranges (see `HeadSyntax.fields`).
    static func parseHead(
        _ bytes: ByteBuffer,
        limits: Limits,
        fields: inout [(name: Range<Int>, value: Range<Int>)]
    ) throws -> RequestHead {
        try bytes.withUnsafeReadableBytes { (raw: UnsafeRawBufferPointer) throws -> RequestHead in
            // request-line = method SP request-target SP HTTP-version CRLF
            var i = 0
            while i < raw.count && HeadSyntax.isTokenByte(raw[i]) { i += 1 }
            guard i > 0, i <= 32, i < raw.count, raw[i] == 0x20 else { throw HTTPWireError.invalid("bad method") }
            let method = Self.method(UnsafeRawBufferPointer(rebasing: raw[0..<i]))
            i += 1
            let targetStart = i
            while i < raw.count && raw[i] > 0x20 && raw[i] != 0x7F { i += 1 }
            let target = targetStart..<i
            guard !target.isEmpty else { throw HTTPWireError.invalid("bad request target") }
            if target.count > limits.maxURIBytes { throw HTTPWireError.uriTooLong }
            guard i + 10 <= raw.count, raw[i] == 0x20, raw[i + 1] == 0x48, raw[i + 2] == 0x54, raw[i + 3] == 0x54,
                raw[i + 4] == 0x50, raw[i + 5] == 0x2F, raw[i + 6] == 0x31, raw[i + 7] == 0x2E,
                raw[i + 8] == 0x30 || raw[i + 8] == 0x31, raw[i + 9] == 0x0D, i + 10 < raw.count, raw[i + 10] == 0x0A
            else { throw HTTPWireError.invalid("bad request line") }
            let minor = Int(raw[i + 8] - 0x30)
            i += 11

            try HeadSyntax.fields(
                raw,
                from: i,
                maxFields: limits.maxFields,
                maxLineBytes: limits.maxHeaderLineBytes,
                ignoringInvalidNames: true,
                into: &fields
            )
            // The section: from the first field line to the CRLF that ends the head.
            if raw.count - 2 - i > limits.maxHeaderSectionBytes { throw HTTPWireError.headTooLarge }
            var host: Range<Int>?
            var hostCount = 0
            var framing = Framing()
            var hasUpgrade = false
            var hasExpect = false
            var asksTrailers = false
            for (name, value) in fields {
                let nameBytes = UnsafeRawBufferPointer(rebasing: raw[name])
                if try framing.note(nameBytes, UnsafeRawBufferPointer(rebasing: raw[value]), at: value) { continue }
                switch name.count {
                case 2 where HeaderRules.equals(nameBytes, "te"):
                    if HeaderRules.listsTrailers(UnsafeRawBufferPointer(rebasing: raw[value])) { asksTrailers = true }
                case 4 where HeaderRules.equals(nameBytes, "host"):
                    hostCount += 1
                    host = value
                case 6 where HeaderRules.equals(nameBytes, "expect"):
                    hasExpect = true
                case 7 where HeaderRules.equals(nameBytes, "upgrade"):
                    hasUpgrade = true
                default:
                    break
                }
            }
            var chunked = false
            if let te = framing.transferEncoding {
                // Both framings at once is how requests are smuggled: refused (RFC 9112 §6.1).
                guard framing.contentLength == nil else {
                    throw HTTPWireError.invalid("Content-Length with Transfer-Encoding")
                }
                guard framing.transferEncodingCount == 1, minor == 1 else {
                    throw HTTPWireError.invalid("bad Transfer-Encoding")
                }
                guard HeadSyntax.isOnlyChunked(UnsafeRawBufferPointer(rebasing: raw[te])) else {
                    throw HTTPWireError.unsupportedTransferEncoding
                }
                chunked = true
            }
            return RequestHead(
                bytes: bytes,
                method: method,
                uri: String(decoding: UnsafeRawBufferPointer(rebasing: raw[target]), as: UTF8.self),
                version: minor == 1 ? .http1_1 : .http1_0,
                fields: fields,
                isKeepAlive: framing.isKeepAlive(minorVersion: minor),
                host: host.map { String(decoding: UnsafeRawBufferPointer(rebasing: raw[$0]), as: UTF8.self) },
                hostCount: hostCount,
                contentLength: framing.contentLength,
                chunked: chunked,
                hasTransferEncoding: framing.transferEncoding != nil,
                hasConnectionOptions: framing.namesFields,
                hasUpgrade: hasUpgrade,
                asksUpgrade: framing.upgrade && hasUpgrade,
                hasExpect: hasExpect,
                asksTrailers: asksTrailers
            )
        }
    }

    /// The method, without a string for the common ones.
    static func method(_ bytes: UnsafeRawBufferPointer) -> HTTPMethod {
        switch bytes.count {
        case 3:
            if bytes.elementsEqual("GET".utf8) { return .GET }
            if bytes.elementsEqual("PUT".utf8) { return .PUT }
        case 4:
            if bytes.elementsEqual("POST".utf8) { return .POST }
            if bytes.elementsEqual("HEAD".utf8) { return .HEAD }
        case 5:
            if bytes.elementsEqual("PATCH".utf8) { return .PATCH }
        case 6:
            if bytes.elementsEqual("DELETE".utf8) { return .DELETE }
        case 7:
            if bytes.elementsEqual("OPTIONS".utf8) { return .OPTIONS }
        default:
            break
        }
        return HTTPMethod(rawValue: String(decoding: bytes, as: UTF8.self))
    }
}
