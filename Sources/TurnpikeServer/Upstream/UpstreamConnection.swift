import NIOCore
import NIOHTTP1
import TurnpikeEngine

/// Where a request goes: resolved host (name or IP) and port.
struct UpstreamKey: Hashable, Sendable, CustomStringConvertible {
    var host: String
    var port: Int
    /// TLS towards the target (nil: plain HTTP), and the server name sent in its handshake: a
    /// pooled connection is reused only for the same target, settings and name.
    var tls: UpstreamTLS?
    var serverName: String?

    init(host: String, port: Int, tls: UpstreamTLS? = nil, serverName: String? = nil) {
        self.host = host
        self.port = port
        self.tls = tls
        self.serverName = serverName
    }

    var description: String {
        guard self.tls != nil else { return "\(self.host):\(self.port)" }
        return "https://\(self.host):\(self.port)" + (self.serverName.map { " (SNI \($0))" } ?? "")
    }
}

/// What an upstream connection reports to the exchange using it. All calls happen on the
/// connection's event loop, which is also the client connection's loop.
protocol UpstreamDelegate: AnyObject {
    func upstreamResponseHead(_ head: ResponseHead)
    func upstreamResponseBody(_ buffer: ByteBuffer)
    func upstreamResponseEnd()
    func upstreamReadComplete()
    func upstreamWritabilityChanged(isWritable: Bool)
    /// The connection failed or closed before the response ended.
    func upstreamFailed(_ error: UpstreamError)
    /// The connection's timer fired; returns when it must fire next (nil: not needed).
    func upstreamTimerFired() -> NIODeadline?
}

enum UpstreamError: Error, Equatable {
    case connectFailed(String)
    case connectTimeout
    case readTimeout
    /// The upstream refused more of the request body for `write_timeout`.
    case writeTimeout
    case closedEarly
    case io(String)
    case invalidResponse
}

/// One keep-alive connection to an upstream, used by one exchange at a time, on one loop.
///
/// It has one timer for its whole life, for the exchange's `read_timeout` and for the pool's idle
/// timeout: arming it is a no-op while it is already due no later than asked, so a request that
/// reuses the connection schedules nothing (a timer per request cost more than its request).
final class UpstreamConnection {
    let channel: any Channel
    let key: UpstreamKey
    let handler: UpstreamHandler
    var requestsServed = 0
    /// Since when the connection idles in the pool (nil while in use).
    var idleSince: NIODeadline?
    /// The pool's idle list for this connection's target (set by the pool).
    var idleList: UpstreamPool.IdleList?
    /// Checks an idle connection when its timer fires; set by the pool.
    var onIdleCheck: ((UpstreamConnection) -> NIODeadline?)?
    private var timer: Scheduled<Void>?
    private var timerDeadline = NIODeadline.distantFuture

    init(channel: any Channel, key: UpstreamKey, handler: UpstreamHandler) {
        self.channel = channel
        self.key = key
        self.handler = handler
    }

    /// Makes the timer fire no later than `deadline`.
    func watch(until deadline: NIODeadline) {
        if self.timer != nil && self.timerDeadline <= deadline { return }
        self.timer?.cancel()
        self.timerDeadline = deadline
        // A strong capture (a weak one would give the connection a side table): the task holds the
        // connection until it fires or is cancelled, which a close does (`stopTimer`).
        self.timer = self.channel.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timerFired()
        }
    }

    func stopTimer() {
        self.timer?.cancel()
        self.timer = nil
    }

    private func timerFired() {
        self.timer = nil
        guard self.handler.isOpen else { return }
        let next: NIODeadline?
        if let delegate = self.handler.delegate {
            next = delegate.upstreamTimerFired()
        } else {
            next = self.onIdleCheck?(self)
        }
        if let next { self.watch(until: next) }
    }
}

/// The one handler of an upstream connection: parses responses (`ResponseParser`), forwards them
/// to the current exchange and holds reads back while the client cannot take more (backpressure).
/// Requests go out as bytes the proxy wrote.
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The exchange using the connection; nil while it idles in the pool. Strong, not weak: a weak
    /// reference gives the exchange a side table, which makes every retain of it slow. Every path
    /// that ends an exchange's use of the connection sets it back to nil (release, failure, client
    /// close), and a closed connection's pipeline drops the handler, so no cycle outlives either.
    var delegate: (any UpstreamDelegate)?
    /// Called when the connection closes, so the pool can forget it.
    var onClose: (() -> Void)?
    private var readGate = ReadGate()
    private var context: ChannelHandlerContext?
    private var parser = ResponseParser()
    /// Bytes after a 101 head: the tunnel's, handed on when this handler leaves the pipeline.
    private var leftover: ByteBuffer?
    /// Whether the last response allows the connection to be reused: never once the upstream
    /// sent bytes it should not have (the connection is closed right after).
    var lastResponseKeepAlive: Bool { self.headKeepAlive && !self.broken }
    private var headKeepAlive = true
    private var broken = false
    /// True once any byte of the current response arrived (a stale pooled connection fails before).
    private(set) var receivedResponseBytes = false
    /// The connection is up: set when it connected, cleared when it closed. A plain flag read on
    /// the loop (asking the channel goes through NIO's lifecycle state with reference counting).
    private(set) var isOpen = false
    private var finished = false

    /// Tells the parser which request the next response answers (HEAD has no body).
    func expectResponse(to method: HTTPMethod) {
        self.parser.expectResponse(toHEAD: method == .HEAD)
    }

    /// Writes request bytes (unflushed), straight to the socket side of the pipeline.
    func send(_ buffer: ByteBuffer) {
        self.context?.write(self.wrapOutboundOut(buffer), promise: nil)
    }

    /// Writes one chunk of a chunked request body.
    func sendChunk(_ buffer: ByteBuffer) {
        guard let context = self.context else { return }
        ChunkedFraming.write(buffer, allocator: context.channel.allocator) {
            context.write(self.wrapOutboundOut($0), promise: nil)
        }
    }

    func flush() {
        self.context?.flush()
    }

    func prepareForRequest() {
        self.receivedResponseBytes = false
        self.finished = false
        self.headKeepAlive = true
        // The previous exchange may have ended while the client was slow and reads were held.
        self.resumeReads()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.isOpen = context.channel.isActive
    }

    func channelActive(context: ChannelHandlerContext) {
        self.isOpen = true
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        // After an upgrade: bytes the upstream sent right after its 101 go to the tunnel.
        if let leftover = self.leftover, leftover.readableBytes > 0 {
            self.leftover = nil
            context.fireChannelRead(NIOAny(leftover))
        }
        context.leavePipeline(removalToken: removalToken)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = self.unwrapInboundIn(data)
        if self.parser.isUpgraded {
            if self.leftover == nil { self.leftover = buffer } else { self.leftover!.writeBuffer(&buffer) }
            return
        }
        guard self.delegate != nil else {
            // Bytes on an idle pooled connection: the upstream is not speaking HTTP as we expect.
            context.close(promise: nil)
            return
        }
        self.receivedResponseBytes = true
        // Events are delivered after the parser returns: delivering one may end the exchange and
        // start the next request on this connection, which must find the parser at rest.
        var events = self.events
        self.events = []
        var failed = false
        do {
            try self.parser.feed(&buffer) { events.append($0) }
        } catch {
            failed = true
        }
        if self.parser.isUpgraded && buffer.readableBytes > 0 { self.leftover = buffer }
        // A response followed by bytes nobody asked for: delivered, but the connection is not reused
        // (a request taking it now would get the failure and, worse, be sent again).
        if failed { self.broken = true }
        for event in events { self.deliver(event) }
        events.removeAll(keepingCapacity: true)
        self.events = events
        if failed { self.fail(.invalidResponse, context: context) }
    }

    /// Reused between reads so collecting events allocates nothing.
    private var events: [ResponseParser.Event] = []

    private func deliver(_ event: ResponseParser.Event) {
        guard let delegate = self.delegate else { return }
        switch event {
        case .head(let head):
            self.headKeepAlive = head.keepAlive
            delegate.upstreamResponseHead(head)
        case .body(let buffer):
            delegate.upstreamResponseBody(buffer)
        case .end:
            self.finished = true
            delegate.upstreamResponseEnd()
        }
    }

    private func fail(_ error: UpstreamError, context: ChannelHandlerContext) {
        if let delegate = self.delegate, !self.finished {
            self.delegate = nil
            delegate.upstreamFailed(error)
        }
        context.close(promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.delegate?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.delegate?.upstreamWritabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.isOpen = false
        // A body delimited by the close ends here.
        if self.delegate != nil && !self.finished && self.receivedResponseBytes {
            var events: [ResponseParser.Event] = []
            try? self.parser.feedEOF { events.append($0) }
            for event in events { self.deliver(event) }
        }
        self.onClose?()
        self.onClose = nil
        if !self.finished, let delegate = self.delegate {
            self.delegate = nil
            delegate.upstreamFailed(.closedEarly)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(.io("\(error)"), context: context)
    }

    func read(context: ChannelHandlerContext) {
        self.readGate.read(context: context)
    }

    func pauseReads() {
        self.readGate.pause()
    }

    func resumeReads() {
        self.readGate.resume(context: self.context)
    }
}
