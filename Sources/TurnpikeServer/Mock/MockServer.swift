public import Logging
public import NIOCore
import NIOHTTP1
import NIOPosix
public import NIOSSL
import NIOTLS
import TurnpikeModel

/// `turnpike mock`: a local request-echo upstream in the spirit of mockbin's `/request`, for
/// `make run`, demos, tests and benchmarks.
///
/// - `ANY /status/<code>`: an empty response with that status.
/// - `ANY /delay/<ms>`: the echo, after `ms` milliseconds.
/// - `GET /bytes/<n>`: `n` bytes of `x`, streamed.
/// - `ANY /response-headers?Name=value&…`: the echo, with those response headers (httpbin's).
/// - a WebSocket handshake (`Upgrade: websocket`): 101, then every byte is echoed back.
/// - anything else: JSON of the request (method, url, path, query, headers, body; over TLS also
///   `tls.server_name`, the SNI the client sent).
///
/// With a certificate it speaks TLS only (an HTTPS upstream for tests and demos); with client CAs
/// too, it demands a client certificate they issued (mTLS).
public final class MockServer: Sendable {
    public let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// The address actually bound (useful with port 0).
    public var localAddress: SocketAddress? { self.channel.localAddress }

    /// Binds and starts serving on `group`.
    public static func start(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        certificate: ServerCertificate? = nil,
        clientCAs: [NIOSSLCertificate]? = nil,
        logger: Logger
    ) async throws -> MockServer {
        let tls = try certificate.map { try ServerTLS.makeContext($0, clientCAs: clientCAs) }
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // No pipelining handler: a WebSocket handshake must be able to take the codec out.
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withPipeliningAssistance: false,
                        withServerUpgrade: nil,
                        withErrorHandling: false,
                        withOutboundHeaderValidation: false
                    )
                    let mock = MockHandler()
                    try channel.pipeline.syncOperations.addHandler(mock)
                    if let tls {
                        // The SNI handler notes the server name, then TLS goes in its place.
                        let sniBox = NIOLoopBoundBox<(any ChannelHandler)?>(nil, eventLoop: channel.eventLoop)
                        let sni = ByteToMessageHandler(
                            SNIHandler { result in
                                mock.tls = true
                                if case .hostname(let name) = result { mock.serverName = name }
                                return channel.eventLoop.makeCompletedFuture {
                                    guard let sni = sniBox.value else { return }
                                    try channel.pipeline.syncOperations.addHandler(
                                        NIOSSLServerHandler(context: tls),
                                        position: .after(sni)
                                    )
                                }
                            }
                        )
                        sniBox.value = sni
                        try channel.pipeline.syncOperations.addHandler(sni, position: .first)
                    }
                }
            }
            .bind(host: host, port: port)
            .get()
        logger.notice(
            "mock upstream listening",
            metadata: ["listen.address": "\(channel.localAddress.map { "\($0)" } ?? "?")"]
        )
        return MockServer(channel: channel)
    }

    public func close() async throws {
        try await self.channel.close()
    }
}

/// Echoes raw bytes (after a WebSocket handshake).
final class EchoHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }
}

/// Answers each request as it ends (clients of the mock do not pipeline).
final class MockHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Bodies are echoed up to this size; beyond it only their length is reported.
    static let maxEchoedBody = 1 << 20

    private var head: HTTPRequestHead?
    /// The connection came over TLS, and the server name its handshake asked for.
    var tls = false
    var serverName: String?
    private var body: [UInt8] = []
    private var bodySize = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = []
            self.bodySize = 0
        case .body(let buffer):
            self.bodySize += buffer.readableBytes
            if self.body.count < Self.maxEchoedBody {
                self.body.append(contentsOf: buffer.readableBytesView.prefix(Self.maxEchoedBody - self.body.count))
            }
        case .end:
            guard let head = self.head else { return }
            self.head = nil
            if head.headers.first(name: "upgrade")?.lowercased() == "websocket" {
                self.upgrade(context: context, head: head)
                return
            }
            self.respond(context: context, head: head)
        }
    }

    /// Answers the handshake and turns the connection into a byte echo.
    private func upgrade(context: ChannelHandlerContext, head: HTTPRequestHead) {
        var headers = HTTPHeaders()
        headers.add(name: "Upgrade", value: "websocket")
        headers.add(name: "Connection", value: "Upgrade")
        headers.add(name: "Sec-WebSocket-Accept", value: "mock")
        context.writeAndFlush(
            self.wrapOutboundOut(
                .head(HTTPResponseHead(version: head.version, status: .switchingProtocols, headers: headers))
            ),
            promise: nil
        )
        // Rebuild the pipeline once the decoder's callback has returned.
        let channel = context.channel
        context.eventLoop.assumeIsolated().execute {
            let pipeline = channel.pipeline.syncOperations
            do {
                try pipeline.addHandler(EchoHandler())
                pipeline.removeHandler(try pipeline.handler(type: HTTPResponseEncoder.self), promise: nil)
                pipeline.removeHandler(
                    try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self),
                    promise: nil
                )
                pipeline.removeHandler(try pipeline.handler(type: MockHandler.self), promise: nil)
            } catch {
                channel.close(promise: nil)
            }
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let uri = head.uri
        let pathPart =
            uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        let segments = pathPart.split(separator: "/")
        if segments.count == 2, segments[0] == "status", let code = Int(segments[1]), (100...999).contains(code),
            code >= 200
        {
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: "0")
            self.send(
                context: context,
                head: head,
                status: HTTPResponseStatus(statusCode: code),
                headers: headers,
                body: nil
            )
            return
        }
        if segments.count == 2, segments[0] == "bytes" || segments[0] == "stream", let n = Int(segments[1]), n >= 0 {
            // /stream/<n> sends no length: chunked for HTTP/1.1, ended by the close for HTTP/1.0.
            self.streamBytes(context: context, head: head, count: n, withLength: segments[0] == "bytes")
            return
        }
        let json = self.echo(head: head).json + "\n"
        var buffer = context.channel.allocator.buffer(capacity: json.utf8.count)
        buffer.writeString(json)
        var jsonHeaders = HTTPHeaders()
        jsonHeaders.add(name: "content-type", value: "application/json; charset=utf-8")
        jsonHeaders.add(name: "content-length", value: "\(buffer.readableBytes)")
        jsonHeaders.add(name: "server", value: "turnpike-mock")
        if segments.count == 1, segments[0] == "response-headers",
            let query = uri.split(separator: "?", maxSplits: 1).dropFirst().first
        {
            // httpbin's /response-headers: each query argument comes back as a response header.
            for pair in query.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty else { continue }
                jsonHeaders.add(
                    name: AdminEntities.percentDecoded(String(parts[0])),
                    value: AdminEntities.percentDecoded(String(parts[1]))
                )
            }
        }
        let headers = jsonHeaders
        let body = buffer
        if segments.count == 2, segments[0] == "delay", let ms = Int64(segments[1]), ms >= 0 {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(min(ms, 600_000))) {
                let (handler, context) = loopBound.value
                handler.send(context: context, head: head, status: .ok, headers: headers, body: body)
            }
            return
        }
        self.send(context: context, head: head, status: .ok, headers: headers, body: buffer)
    }

    private func send(
        context: ChannelHandlerContext,
        head: HTTPRequestHead,
        status: HTTPResponseStatus,
        headers: HTTPHeaders,
        body: ByteBuffer?
    ) {
        var headers = headers
        if !head.isKeepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        context.write(
            self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil
        )
        if let body { context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        let keepAlive = head.isKeepAlive
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }

    private func streamBytes(context: ChannelHandlerContext, head: HTTPRequestHead, count: Int, withLength: Bool) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/octet-stream")
        if withLength { headers.add(name: "content-length", value: "\(count)") }
        let keepAlive = head.isKeepAlive && (withLength || head.version != .http1_0)
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(
            self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))),
            promise: nil
        )
        let chunk = context.channel.allocator.buffer(repeating: UInt8(ascii: "x"), count: min(count, 64 * 1024))
        self.writeChunks(context: context, remaining: count, chunk: chunk, keepAlive: keepAlive)
    }

    /// Writes `remaining` bytes chunk by chunk, waiting for each write so memory stays flat.
    private func writeChunks(context: ChannelHandlerContext, remaining: Int, chunk: ByteBuffer, keepAlive: Bool) {
        if remaining == 0 {
            context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
                if !keepAlive { channel.close(promise: nil) }
            }
            return
        }
        let n = min(remaining, chunk.readableBytes)
        let slice = chunk.getSlice(at: chunk.readerIndex, length: n) ?? chunk
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(slice)))).whenComplete { result in
            let (handler, context) = loopBound.value
            guard case .success = result else { return }
            handler.writeChunks(context: context, remaining: remaining - n, chunk: chunk, keepAlive: keepAlive)
        }
    }

    private func echo(head: HTTPRequestHead) -> Rendered {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts.first ?? "")
        var query: [(String, Rendered)] = []
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query.append((String(kv[0]), kv.count == 2 ? .string(String(kv[1])) : .string("")))
            }
        }
        var headers: [(String, Rendered)] = []
        for (name, value) in head.headers {
            let key = name.lowercased()
            if let i = headers.firstIndex(where: { $0.0 == key }), case .string(let old) = headers[i].1 {
                headers[i].1 = .string(old + ", " + value)
            } else {
                headers.append((key, .string(value)))
            }
        }
        let host = head.headers.first(name: "host") ?? "localhost"
        return .object(
            [
                ("method", .string(head.method.rawValue)),
                ("url", .string("\(self.tls ? "https" : "http")://\(host)\(head.uri)")),
                ("path", .string(path)),
                ("httpVersion", .string("HTTP/\(head.version.major).\(head.version.minor)")),
                ("query", .object(query)),
                ("headers", .object(headers)),
                ("body", .string(String(decoding: self.body, as: UTF8.self))),
                ("bodySize", .integer(self.bodySize)),
            ] + (self.tls ? [("tls", .object([("server_name", self.serverName.map { .string($0) } ?? .null)]))] : [])
        )
    }
}
