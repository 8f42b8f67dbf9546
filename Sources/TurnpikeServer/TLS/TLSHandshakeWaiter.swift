import NIOCore
import NIOTLS

/// Sits above the TLS handler of a new upstream connection until its handshake ends: the pool
/// hands the connection out only then, so a failed handshake (a certificate that does not verify,
/// a target that does not speak TLS) is a failure to connect, as nginx counts it, and a handshake
/// that never ends is bounded by the connect timeout. Leaves the pipeline once done.
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    let done: EventLoopPromise<Void>
    private var settled = false

    struct Closed: Error, CustomStringConvertible {
        var description: String { "the upstream closed the connection during the TLS handshake" }
    }

    struct TimedOut: Error, CustomStringConvertible {
        var description: String { "the upstream TLS handshake timed out" }
    }

    init(eventLoop: any EventLoop) {
        self.done = eventLoop.makePromise()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            self.settle(nil)
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Reported through `done`; the pool closes the connection.
        self.settle(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.settle(Closed())
        context.fireChannelInactive()
    }

    func timeOut() {
        self.settle(TimedOut())
    }

    private func settle(_ error: (any Error)?) {
        guard !self.settled else { return }
        self.settled = true
        if let error { self.done.fail(error) } else { self.done.succeed() }
    }
}
