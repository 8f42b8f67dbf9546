import NIOCore
import NIOHTTP1
import TurnpikePlugins

/// Writes a `ResponseHeadOut` as HTTP/1 bytes and picks the body's framing (RFC 9112 §6.3): a
/// known length passes as `Content-Length`; an unknown one is chunked for an HTTP/1.1 client and
/// ended by the close for an HTTP/1.0 one; HEAD, 204, 304 and 1xx have no body.
enum HTTP1ResponseWriter {
    /// What the request says about its response.
    struct Request {
        var version: HTTPVersion
        var isHEAD: Bool
        var keepAlive: Bool

        /// A request the parser could not read: answered as HTTP/1.1, then closed.
        static let unreadable = Request(version: .http1_1, isHEAD: false, keepAlive: false)
    }

    /// How the body that follows the head goes out.
    struct Framing: Equatable {
        /// Body pieces are chunk-framed, with a terminator at the end.
        var chunked = false
        /// The connection closes after the response (its end is the close, or it cannot carry on).
        var closeAfter = false
        /// The connection is handed to a tunnel after the head (101).
        var upgrade = false
    }

    /// Writes the head's bytes into `buffer` (the connection's, reused: see
    /// `HeadWriter.write(into:)`) and returns the framing of what follows.
    static func write(
        _ head: ResponseHeadOut,
        request: Request,
        connection: ClientConnection,
        into buffer: inout ByteBuffer,
        allocator: ByteBufferAllocator
    ) -> Framing {
        switch head.kind {
        case .proxied(let upstream, let upstreamLatency, let proxyLatency, let trailers):
            return Self.proxied(
                head,
                upstream: upstream,
                latencies: (upstreamLatency, proxyLatency),
                trailers: trailers,
                request: request,
                connection: connection,
                into: &buffer,
                allocator: allocator
            )
        case .local(let headers, let latency):
            return Self.local(
                head,
                headers: headers,
                latency: latency,
                request: request,
                connection: connection,
                into: &buffer,
                allocator: allocator
            )
        }
    }

    private static func proxied(
        _ out: ResponseHeadOut,
        upstream head: ResponseHead,
        latencies: (upstream: Int64, proxy: Int64),
        trailers: Bool,
        request: Request,
        connection: ClientConnection,
        into buffer: inout ByteBuffer,
        allocator: ByteBufferAllocator
    ) -> Framing {
        let code = out.status
        var framing = Framing(closeAfter: out.close || !request.keepAlive)
        if code == 101 {
            // A WebSocket handshake the upstream accepted: the 101 keeps its Upgrade/Connection
            // headers, and both connections become a byte relay.
            framing.upgrade = true
        } else {
            let bodyless = request.isHEAD || code == 204 || code == 304 || (100..<200).contains(code)
            if !bodyless && out.contentLength == nil {
                if request.version == .http1_0 {
                    framing.closeAfter = true
                } else {
                    framing.chunked = true
                }
            }
        }
        // A HEAD answered with Transfer-Encoding and no length says so to an HTTP/1.1 client too.
        let headChunked =
            request.isHEAD && head.hasTransferEncoding && out.contentLength == nil && request.version != .http1_0
        // nginx's status line: its own reason phrase for the codes it knows, the upstream's otherwise.
        let known = HTTPResponseStatus(statusCode: code).reasonPhrase
        let reason = known.isEmpty ? (out.upstreamReason ?? head.reasonPhrase) : known
        let upgrade = framing.upgrade ? head.first(name: "upgrade") : nil
        head.bytes.withUnsafeReadableBytes { raw in
            HeadWriter.write(into: &buffer, allocator: allocator, capacity: 256 + raw.count) { writer in
                writer.statusLine(version: request.version, code: code, reason: reason)
                HeaderRules.writeClientResponseHeaders(
                    into: &writer,
                    upstream: head,
                    raw: raw,
                    via: connection.via,
                    serverToken: connection.configuration.serverToken,
                    upstreamLatencyMs: latencies.upstream,
                    proxyLatencyMs: latencies.proxy,
                    requestID: out.requestID,
                    dates: connection.dates,
                    edits: out.edits,
                    clientAcceptsTrailers: trailers,
                    relayLength: out.contentLength != nil || request.isHEAD
                )
                if framing.upgrade {
                    writer.header("Connection", "Upgrade")
                    if let upgrade { writer.header("Upgrade", upgrade) }
                    return
                }
                if framing.chunked || headChunked { writer.header("Transfer-Encoding", "chunked") }
                Self.connectionHeader(framing.closeAfter, request: request, into: &writer)
            }
        }
        return framing
    }

    /// A gateway-made head: Kong's order (Date, the answer's own headers, Content-Length, Server,
    /// X-Kong-Response-Latency, X-Kong-Request-Id), then the response phase's edits.
    private static func local(
        _ out: ResponseHeadOut,
        headers: [(name: String, value: String)],
        latency: Int64,
        request: Request,
        connection: ClientConnection,
        into buffer: inout ByteBuffer,
        allocator: ByteBufferAllocator
    ) -> Framing {
        let framing = Framing(closeAfter: out.close || !request.keepAlive)
        let edits = out.edits
        HeadWriter.write(into: &buffer, allocator: allocator, capacity: 256) { writer in
            writer.statusLine(version: request.version, status: HTTPResponseStatus(statusCode: out.status))
            if !(edits?.removes("Date") ?? false) { writer.header("Date", connection.dates.now) }
            for (name, value) in headers where !(edits?.removes(name) ?? false) && !HeaderRules.isFraming(name) {
                writer.header(name, HeadWriter.sanitized(value))
            }
            writer.header("Content-Length", Int64(out.contentLength ?? 0))
            if !(edits?.removes("Server") ?? false) {
                writer.header("Server", connection.configuration.serverToken)
            }
            if !(edits?.removes("X-Kong-Response-Latency") ?? false) {
                writer.header("X-Kong-Response-Latency", latency)
            }
            if !(edits?.removes("X-Kong-Request-Id") ?? false) { writer.requestIDHeader(out.requestID) }
            if let edits { HeaderRules.writeEdits(edits, into: &writer) }
            Self.connectionHeader(framing.closeAfter, request: request, into: &writer)
        }
        return framing
    }

    private static func connectionHeader(_ close: Bool, request: Request, into writer: inout HeadWriter) {
        if close {
            writer.header("Connection", "close")
        } else if request.version == .http1_0 {
            writer.header("Connection", "keep-alive")
        }
    }
}
