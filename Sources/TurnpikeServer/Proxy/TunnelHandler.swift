import NIOCore

/// After a `101 Switching Protocols` (WebSocket), the two connections relay raw bytes both ways.
/// One handler at the end of each pipeline; both run on the same event loop. Reads pause while the
/// other side cannot take more; a close on either side closes the other.
final class TunnelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The other side's handler, set once both exist.
    weak var peer: TunnelHandler?
    private var context: ChannelHandlerContext?
    private var readGate = ReadGate()
    private var needsFlush = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = self.unwrapInboundIn(data)
        guard let peer = self.peer else {
            context.close(promise: nil)
            return
        }
        peer.send(buffer)
        if !peer.isWritable { self.readGate.pause() }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.peer?.flushIfNeeded()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { self.peer?.resumeReads() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.peer?.closePeer()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        self.readGate.read(context: context)
    }

    // MARK: - Called by the peer

    var isWritable: Bool { self.context?.channel.isWritable ?? false }

    func send(_ buffer: ByteBuffer) {
        guard let context = self.context else { return }
        context.write(self.wrapOutboundOut(buffer), promise: nil)
        self.needsFlush = true
    }

    func flushIfNeeded() {
        guard self.needsFlush, let context = self.context else { return }
        self.needsFlush = false
        context.flush()
    }

    func resumeReads() {
        self.readGate.resume(context: self.context)
    }

    func closePeer() {
        self.context?.close(promise: nil)
    }
}

enum Tunnel {
    /// Turns both connections into a byte relay (the 101 head has been written and flushed by
    /// then). Each side's HTTP handler leaves the pipeline after the tunnel handler joined it, so
    /// bytes that arrived early (after the request, after the 101) reach the other side.
    static func splice(client: any Channel, upstream: any Channel) throws {
        let clientTunnel = TunnelHandler()
        let upstreamTunnel = TunnelHandler()
        clientTunnel.peer = upstreamTunnel
        upstreamTunnel.peer = clientTunnel

        let c = client.pipeline.syncOperations
        try c.addHandler(clientTunnel)
        // The proxy handler hands on any bytes the client sent after its request as it leaves.
        c.removeHandler(try c.handler(type: HTTP1ServerHandler.self), promise: nil)

        let u = upstream.pipeline.syncOperations
        try u.addHandler(upstreamTunnel)
        // The upstream handler hands on any bytes that came after the 101 as it leaves.
        u.removeHandler(try u.handler(type: UpstreamHandler.self), promise: nil)
    }
}
