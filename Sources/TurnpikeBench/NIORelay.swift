// `turnpike-bench nio-relay PORT UPSTREAM_PORT`: the floor of any SwiftNIO proxy. One upstream
// connection per client connection, bytes copied both ways with no parsing at all. With a
// keep-alive HTTP client and upstream this is a (header-blind) HTTP proxy; its CPU per request is
// what SwiftNIO's channels, pipeline and event loop cost before any gateway work.
import NIOCore
import NIOPosix

final class RelayHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    var partner: RelayHandler?
    var context: ChannelHandlerContext?
    let upstreamPort: Int?

    init(upstreamPort: Int? = nil) { self.upstreamPort = upstreamPort }

    /// Client side: connect the upstream, then start reading the client.
    func channelActive(context: ChannelHandlerContext) {
        guard let upstreamPort else { return }
        let far = RelayHandler()
        far.partner = self
        partner = far
        let client = context.channel
        ClientBootstrap(group: context.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { upstream in
                upstream.eventLoop.makeCompletedFuture {
                    try upstream.pipeline.syncOperations.addHandler(far)
                }
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .whenComplete { result in
                switch result {
                case .success: client.read()
                case .failure: client.close(promise: nil)
                }
            }
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.context?.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
    }

    func read(context: ChannelHandlerContext) {
        // The client side reads only once its upstream is connected.
        if upstreamPort == nil || partner?.context != nil { context.read() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.context?.close(promise: nil)
        partner = nil
    }
}

func runRelay(listenPort: Int, upstreamPort: Int) throws -> Never {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let server = try ServerBootstrap(group: group)
        .serverChannelOption(.backlog, value: 1024)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        .childChannelInitializer { client in
            client.eventLoop.makeCompletedFuture {
                try client.pipeline.syncOperations.addHandler(RelayHandler(upstreamPort: upstreamPort))
            }
        }
        .bind(host: "127.0.0.1", port: listenPort).wait()
    print("nio-relay on 127.0.0.1:\(listenPort) -> 127.0.0.1:\(upstreamPort)")
    try server.closeFuture.wait()
    exit(0)
}
