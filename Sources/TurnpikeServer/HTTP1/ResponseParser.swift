import NIOCore

/// An upstream response head, parsed in place: the status line and header fields are ranges into
/// `bytes`, so the proxy copies the lines it keeps straight into the client's head without making
/// a `String` of every name and value.
struct ResponseHead: ParsedHead {
    /// The head's bytes, from the status line to the empty line (reader index 0).
    let bytes: ByteBuffer
    let minorVersion: Int
    let status: Int
    let reason: Range<Int>
    let fields: [(name: Range<Int>, value: Range<Int>)]
    /// The declared length, when the body is delimited by it (not with Transfer-Encoding).
    let contentLength: Int?
    let chunked: Bool
    let hasTransferEncoding: Bool
    /// The Connection field names other fields, which must not be forwarded.
    let hasConnectionOptions: Bool
    /// The connection may carry another request after this response.
    let keepAlive: Bool

    var reasonPhrase: String { self.string(self.reason) }
}

/// The upstream side's HTTP/1.x response parser (RFC 9112), replacing NIO's decoder and its
/// `HTTPHeaders` of strings. Strict where a mistake would confuse framing (Content-Length,
/// Transfer-Encoding, chunk sizes, obs-fold, bare LF): such a response is invalid (502), never
/// guessed at. One request is outstanding at a time, so the parser only needs to know whether it
/// was a HEAD.
struct ResponseParser {
    enum Event {
        case head(ResponseHead)
        case body(ByteBuffer)
        case end
    }

    typealias Failure = HTTPWireError

    /// The largest head accepted (nginx's proxy_buffer_size is 4–8 KiB; Kong's 128 KiB with its
    /// large headers).
    static let maxHeadBytes = 128 * 1024
    static let maxFields = 500

    private enum State {
        case idle
        case head
        case fixed(remaining: Int)
        case chunked
        case untilClose
        /// After a 101: everything else belongs to the new protocol.
        case upgraded
    }

    private var state = State.idle
    private var chunks = ChunkedDecoder()
    private var pending = PendingHead()
    private var requestIsHEAD = false
    /// The field ranges of the last head, shared with it: reused once that head is gone.
    private var fieldStorage: [(name: Range<Int>, value: Range<Int>)] = []

    /// A request went out; its response comes next.
    mutating func expectResponse(toHEAD isHEAD: Bool) {
        self.requestIsHEAD = isHEAD
        self.state = .head
        self.pending.reset()
    }

    /// Bytes after a 101 head, for the tunnel.
    var isUpgraded: Bool {
        if case .upgraded = self.state { return true }
        return false
    }

    /// Feeds bytes; emits events in order. Bytes after an upgrade stay in `buffer`.
    mutating func feed(_ buffer: inout ByteBuffer, _ emit: (Event) -> Void) throws {
        while buffer.readableBytes > 0 {
            switch self.state {
            case .idle:
                throw Failure.invalid("bytes without a request")
            case .upgraded:
                return
            case .head:
                guard try self.readHead(&buffer, emit) else { return }
            case .fixed(let remaining):
                let n = min(remaining, buffer.readableBytes)
                emit(.body(buffer.readSlice(length: n)!))
                if n == remaining {
                    self.state = .idle
                    emit(.end)
                } else {
                    self.state = .fixed(remaining: remaining - n)
                }
            case .untilClose:
                emit(.body(buffer.readSlice(length: buffer.readableBytes)!))
            case .chunked:
                if try self.chunks.read(&buffer, { emit(.body($0)) }) {
                    self.state = .idle
                    emit(.end)
                }
            }
        }
    }

    /// The upstream closed: ends a body delimited by the close; anything else unfinished is an error.
    mutating func feedEOF(_ emit: (Event) -> Void) throws {
        switch self.state {
        case .untilClose:
            self.state = .idle
            emit(.end)
        case .idle, .upgraded:
            return
        default:
            throw Failure.invalid("connection closed before the response ended")
        }
    }

    // MARK: - Head

    /// Reads a head if complete; false when more bytes are needed.
    private mutating func readHead(_ buffer: inout ByteBuffer, _ emit: (Event) -> Void) throws -> Bool {
        let end = try self.pending.next(&buffer) { partial, _ in
            if partial.readableBytes > Self.maxHeadBytes { throw Failure.headTooLarge }
        }
        guard let end else { return false }
        if end > Self.maxHeadBytes { throw Failure.headTooLarge }
        let bytes = buffer.readSlice(length: end)!
        let head = try Self.parseHead(bytes, fields: &self.fieldStorage)
        if head.status >= 100 && head.status < 200 && head.status != 101 {
            // Interim response (100, 102, 103): not relayed; the final head follows.
            return true
        }
        let bodyless = self.requestIsHEAD || head.status == 204 || head.status == 304
        if head.status == 101 {
            self.state = .upgraded
        } else if bodyless {
            self.state = .idle
        } else if head.chunked {
            self.state = .chunked
            self.chunks = ChunkedDecoder()
        } else if let length = head.contentLength {
            self.state = length == 0 ? .idle : .fixed(remaining: length)
        } else {
            self.state = .untilClose
        }
        let delimitedByClose: Bool
        if case .untilClose = self.state { delimitedByClose = true } else { delimitedByClose = false }
        let final =
            delimitedByClose
            ? ResponseHead(
                bytes: head.bytes,
                minorVersion: head.minorVersion,
                status: head.status,
                reason: head.reason,
                fields: head.fields,
                contentLength: head.contentLength,
                chunked: head.chunked,
                hasTransferEncoding: head.hasTransferEncoding,
                hasConnectionOptions: head.hasConnectionOptions,
                keepAlive: false
            )
            : head
        emit(.head(final))
        if case .idle = self.state { emit(.end) }
        if case .upgraded = self.state { emit(.end) }
        return true
    }

    static func parseHead(_ bytes: ByteBuffer) throws -> ResponseHead {
        var fields: [(name: Range<Int>, value: Range<Int>)] = []
        return try Self.parseHead(bytes, fields: &fields)
    }

    /// Parses a head; `fields` is the storage for its field ranges (see `HeadSyntax.fields`).
    static func parseHead(
        _ bytes: ByteBuffer,
        fields: inout [(name: Range<Int>, value: Range<Int>)]
    ) throws -> ResponseHead {
        try bytes.withUnsafeReadableBytes { (raw: UnsafeRawBufferPointer) throws -> ResponseHead in
            // Status line: HTTP/1.x SP 3DIGIT [SP reason] CRLF
            guard raw.count >= 14, raw[0] == 0x48, raw[1] == 0x54, raw[2] == 0x54, raw[3] == 0x50, raw[4] == 0x2F,
                raw[5] == 0x31, raw[6] == 0x2E, raw[7] == 0x30 || raw[7] == 0x31, raw[8] == 0x20
            else { throw Failure.invalid("bad status line") }
            let minor = Int(raw[7] - 0x30)
            var status = 0
            for i in 9..<12 {
                let d = raw[i]
                guard d >= 0x30 && d <= 0x39 else { throw Failure.invalid("bad status code") }
                status = status * 10 + Int(d - 0x30)
            }
            guard status >= 100 else { throw Failure.invalid("bad status code") }
            var i = 12
            var reason = 12..<12
            if raw[i] == 0x20 {
                i += 1
                let start = i
                while i < raw.count && raw[i] != 0x0D && raw[i] != 0x0A {
                    let c = raw[i]
                    guard c == 0x09 || c >= 0x20 && c != 0x7F else { throw Failure.invalid("bad reason phrase") }
                    i += 1
                }
                reason = start..<i
            }
            guard i + 1 < raw.count, raw[i] == 0x0D, raw[i + 1] == 0x0A else {
                throw Failure.invalid("bad status line")
            }
            i += 2

            try HeadSyntax.fields(raw, from: i, maxFields: Self.maxFields, into: &fields)
            var framing = Framing()
            for (name, value) in fields {
                _ = try framing.note(
                    UnsafeRawBufferPointer(rebasing: raw[name]),
                    UnsafeRawBufferPointer(rebasing: raw[value]),
                    at: value
                )
            }
            var contentLength = framing.contentLength
            var chunked = false
            if let te = framing.transferEncoding {
                guard framing.transferEncodingCount == 1 else {
                    throw Failure.invalid("several Transfer-Encoding fields")
                }
                chunked = HeadSyntax.endsWithChunked(UnsafeRawBufferPointer(rebasing: raw[te]))
                // A length next to Transfer-Encoding is ignored (RFC 9112 §6.3); the client gets neither.
                contentLength = nil
            }
            return ResponseHead(
                bytes: bytes,
                minorVersion: minor,
                status: status,
                reason: reason,
                fields: fields,
                contentLength: contentLength,
                chunked: chunked,
                hasTransferEncoding: framing.transferEncoding != nil,
                hasConnectionOptions: framing.namesFields,
                keepAlive: framing.isKeepAlive(minorVersion: minor)
            )
        }
    }
}
