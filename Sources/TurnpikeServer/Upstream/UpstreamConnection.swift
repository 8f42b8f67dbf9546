import NIOCore
import NIOHTTP1

/// Where a request goes: resolved host (name or IP) and port.
struct UpstreamKey: Hashable, Sendable, CustomStringConvertible {
    var host: String
    var port: Int

    var description: String { "\(self.host):\(self.port)" }
}

/// What an upstream connection reports to the exchange using it. All calls happen on the
/// connection's event loop, which is also the client connection's loop.
protocol UpstreamDelegate: AnyObject {
    func upstreamResponseHead(_ head: HTTPResponseHead)
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
        self.timer = self.channel.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            self?.timerFired()
        }
    }

    func stopTimer() {
        self.timer?.cancel()
        self.timer = nil
    }

    private func timerFired() {
        self.timer = nil
        guard self.channel.isActive else { return }
        let next: NIODeadline?
        if let delegate = self.handler.delegate {
            next = delegate.upstreamTimerFired()
        } else {
            next = self.onIdleCheck?(self)
        }
        if let next { self.watch(until: next) }
    }
}

/// The last handler of an upstream connection: forwards response parts to the current exchange
/// and holds reads back while the client cannot take more (backpressure).
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The exchange using the connection; nil while it idles in the pool.
    weak var delegate: (any UpstreamDelegate)?
    /// Called when the connection closes, so the pool can forget it.
    var onClose: (() -> Void)?
    private var readGate = ReadGate()
    private var context: ChannelHandlerContext?
    /// Whether the last response allows the connection to be reused.
    private(set) var lastResponseKeepAlive = true
    /// True once any byte of the current response arrived (a stale pooled connection fails before).
    private(set) var receivedResponseBytes = false
    private var finished = false
    private let decoder: UpstreamResponseDecoder

    init(decoder: UpstreamResponseDecoder) {
        self.decoder = decoder
    }

    /// Tells the response parser which request the next response answers (HEAD has no body).
    func expectResponse(to method: HTTPMethod) {
        self.decoder.expectResponse(to: method)
    }

    /// Writes request bytes (unflushed), straight to the socket side of the pipeline.
    func send(_ buffer: ByteBuffer) {
        self.context?.write(self.wrapOutboundOut(buffer), promise: nil)
    }

    /// Writes one chunk of a chunked request body.
    func sendChunk(_ buffer: ByteBuffer) {
        guard let context = self.context else { return }
        if buffer.readableBytes > 4096 {
            context.write(self.wrapOutboundOut(ChunkedFraming.prefix(buffer.readableBytes, allocator: context.channel.allocator)), promise: nil)
            context.write(self.wrapOutboundOut(buffer), promise: nil)
            context.write(self.wrapOutboundOut(ChunkedFraming.crlf(allocator: context.channel.allocator)), promise: nil)
        } else {
            context.write(self.wrapOutboundOut(ChunkedFraming.chunk(buffer, allocator: context.channel.allocator)), promise: nil)
        }
    }

    func flush() {
        self.context?.flush()
    }

    func prepareForRequest() {
        self.receivedResponseBytes = false
        self.finished = false
        self.lastResponseKeepAlive = true
        // The previous exchange may have ended while the client was slow and reads were held.
        self.resumeReads()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = self.unwrapInboundIn(data)
        guard let delegate = self.delegate else {
            // Bytes on an idle pooled connection: the upstream is not speaking HTTP as we expect.
            context.close(promise: nil)
            return
        }
        self.receivedResponseBytes = true
        switch part {
        case .head(let head):
            // 1xx interim responses (other than 101) are not forwarded; the final head follows.
            if head.status.code >= 100 && head.status.code < 200 && head.status.code != 101 { return }
            self.lastResponseKeepAlive = head.isKeepAlive
            delegate.upstreamResponseHead(head)
        case .body(let buffer):
            delegate.upstreamResponseBody(buffer)
        case .end:
            self.finished = true
            delegate.upstreamResponseEnd()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.delegate?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.delegate?.upstreamWritabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.onClose?()
        self.onClose = nil
        if !self.finished, let delegate = self.delegate {
            self.delegate = nil
            delegate.upstreamFailed(.closedEarly)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let delegate = self.delegate, !self.finished {
            self.delegate = nil
            if error is HTTPParserError {
                delegate.upstreamFailed(.invalidResponse)
            } else {
                delegate.upstreamFailed(.io("\(error)"))
            }
        }
        context.close(promise: nil)
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

/// NIO's response parser without its request encoder: requests go up as bytes the proxy wrote, so
/// the parser is told of each request's method here (it needs it for HEAD) instead of watching
/// the encoder's writes.
final class UpstreamResponseDecoder: ByteToMessageDecoder {
    typealias InboundOut = HTTPClientResponsePart

    private let inner = HTTPResponseDecoder(leftOverBytesStrategy: .forwardBytes)
    private static let plainRequest = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
    private static let headRequest = HTTPRequestHead(version: .http1_1, method: .HEAD, uri: "/")

    func expectResponse(to method: HTTPMethod) {
        self.inner.write(data: .head(method == .HEAD ? Self.headRequest : Self.plainRequest))
    }

    func decoderAdded(context: ChannelHandlerContext) {
        self.inner.decoderAdded(context: context)
    }

    func decoderRemoved(context: ChannelHandlerContext) {
        self.inner.decoderRemoved(context: context)
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        try self.inner.decode(context: context, buffer: &buffer)
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try self.inner.decodeLast(context: context, buffer: &buffer, seenEOF: seenEOF)
    }
}
