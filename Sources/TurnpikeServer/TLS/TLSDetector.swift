import NIOCore
import NIOHTTP1
import NIOSSL
import TurnpikeEngine

/// The first handler of a connection on a TLS listener. A TLS connection starts with a handshake
/// record (first byte 0x16): the detector hands the bytes to a `ClientHelloReader`, which reads the
/// server name and the signature algorithms from the ClientHello; the name is noted on the
/// connection (for routes' `snis`) and the TLS handler goes in front of the HTTP handler, presenting
/// the certificate chosen for the name.
/// Anything else is plain HTTP sent to the HTTPS port: nginx's answer (its 497, sent as a 400 with
/// its own page, kong/templates/nginx_kong.lua has no error_page for it) once the request head has
/// arrived, then the connection closes.
final class TLSDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case waiting
        /// Plain HTTP: the bytes so far, until the head is complete.
        case plain(ByteBuffer)
        case answered
    }

    private var state = State.waiting
    private let tls: NIOSSLContext
    private let connection: ClientConnection
    /// The HTTP handler the TLS handler goes in front of.
    private let http: any ChannelHandler

    /// How much of a plain request is read before answering anyway.
    static let plainHeadLimit = 8192

    init(tls: NIOSSLContext, connection: ClientConnection, http: any ChannelHandler) {
        self.tls = tls
        self.connection = connection
        self.http = http
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = self.unwrapInboundIn(data)
        switch self.state {
        case .waiting:
            guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return }
            if first == 0x16 {
                self.startTLS(context: context, first: buffer)
            } else {
                self.state = .plain(buffer)
                self.plainRead(context: context)
            }
        case .plain(var held):
            var more = buffer
            held.writeBuffer(&more)
            self.state = .plain(held)
            self.plainRead(context: context)
        case .answered:
            break
        }
    }

    private func startTLS(context: ChannelHandlerContext, first: ByteBuffer) {
        let pipeline = context.pipeline.syncOperations
        let connection = self.connection
        let tls = self.tls
        let http = self.http
        let channel = context.channel
        let sni = ByteToMessageHandler(
            ClientHelloReader { hello in
                connection.sni = hello?.serverName
                // The certificate for the name, from this loop's snapshot (kong/runloop/certificate.lua);
                // the listener's own when no `snis` entry applies; of a certificate with `cert_alt`,
                // the key type the client takes.
                let chosen = connection.slot.value.certificates.entry(forServerName: connection.sni)
                let compiled = chosen?.compiled as? CompiledCertificate
                let context = compiled?.context(acceptsECDSA: hello?.acceptsECDSA ?? false) ?? tls
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLServerHandler(context: context),
                        position: .before(http)
                    )
                }
            }
        )
        do {
            try pipeline.addHandler(sni, position: .after(self))
        } catch {
            context.close(promise: nil)
            return
        }
        self.state = .answered
        // The SNI handler reads from here on; this handler leaves with the first bytes passed on.
        context.fireChannelRead(NIOAny(first))
        pipeline.removeHandler(self, promise: nil)
    }

    private func plainRead(context: ChannelHandlerContext) {
        guard case .plain(let held) = self.state else { return }
        let complete = held.readableBytesView.firstRange(of: [13, 10, 13, 10]) != nil
        guard complete || held.readableBytes >= Self.plainHeadLimit else { return }
        self.answerPlainRequest(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A client that sent a partial plain request and half-closed still gets its answer.
        if case .plain = self.state, let event = event as? ChannelEvent, event == .inputClosed {
            self.answerPlainRequest(context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func answerPlainRequest(context: ChannelHandlerContext) {
        self.state = .answered
        let body = Self.plainHTTPPage
        let head = HeadWriter.write(allocator: context.channel.allocator, capacity: 256 + body.utf8.count) { w in
            w.statusLine(version: .http1_1, status: .badRequest)
            w.header("Date", self.connection.dates.now)
            w.header("Content-Type", "text/html")
            w.header("Content-Length", Int64(body.utf8.count))
            w.header("Connection", "close")
            w.header("Server", self.connection.configuration.serverToken)
        }
        var bytes = head
        bytes.writeString(body)
        context.writeAndFlush(self.wrapOutboundOut(bytes)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// nginx's page for its 497 (ngx_http_special_response.c), the server name ours.
    static let plainHTTPPage =
        "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n"
        + "<center><h1>400 Bad Request</h1></center>\r\n"
        + "<center>The plain HTTP request was sent to HTTPS port</center>\r\n"
        + "<hr><center>turnpike</center>\r\n</body>\r\n</html>\r\n"
}
