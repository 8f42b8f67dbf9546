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
final class UpstreamConnection {
    let channel: any Channel
    let key: UpstreamKey
    let handler: UpstreamHandler
    var requestsServed = 0
    var idleTimer: Scheduled<Void>?

    init(channel: any Channel, key: UpstreamKey, handler: UpstreamHandler) {
        self.channel = channel
        self.key = key
        self.handler = handler
    }
}

/// The last handler of an upstream connection: forwards response parts to the current exchange
/// and holds reads back while the client cannot take more (backpressure).
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

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
