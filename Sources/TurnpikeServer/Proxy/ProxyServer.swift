public import Logging
public import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TurnpikeEngine

/// The proxy listener: accepts client connections and gives each an `HTTP1ServerHandler` bound to the
/// snapshot slot, upstream pool and balancer cursors of its event loop.
public final class ProxyServer: Sendable {
    private let serverChannel: any Channel
    private let connections: ConnectionRegistry
    private let loopStates: [NIOLoopBound<LoopState>]
    /// Connection and request counters (Kong's `GET /status` `server` object).
    public let statistics: ProxyStatistics

    /// Per-loop mutable state: used only on its loop.
    final class LoopState {
        let pool: UpstreamPool
        let cursors = BalancerCursors()
        let dates = HTTPDateCache()

        init(eventLoop: any EventLoop) {
            self.pool = UpstreamPool(eventLoop: eventLoop)
        }
    }

    private init(
        serverChannel: any Channel,
        connections: ConnectionRegistry,
        loopStates: [NIOLoopBound<LoopState>],
        statistics: ProxyStatistics
    ) {
        self.serverChannel = serverChannel
        self.connections = connections
        self.loopStates = loopStates
        self.statistics = statistics
    }

    /// The bound address (useful with port 0).
    public var localAddress: SocketAddress? { self.serverChannel.localAddress }

    /// Binds `host:port` and starts accepting.
    public static func start(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        store: SnapshotStore,
        configuration: ProxyConfiguration = ProxyConfiguration(),
        logger: Logger
    ) async throws -> ProxyServer {
        var loopStates: [NIOLoopBound<LoopState>] = []
        for loop in group.makeIterator() {
            let state = try await loop.submit { NIOLoopBound(LoopState(eventLoop: loop), eventLoop: loop) }.get()
            loopStates.append(state)
        }
        let states = loopStates
        let statistics = try await ProxyStatistics(group: group)
        let connections = ConnectionRegistry()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 128 * 1024))
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let slot = store.slot(for: channel.eventLoop),
                        let state = states.first(where: { $0.eventLoop === channel.eventLoop })?.value,
                        let counters = statistics.counters(for: channel.eventLoop)
                    else {
                        throw ChannelError.ioOnClosedChannel
                    }
                    connections.add(channel)
                    let sync = channel.pipeline.syncOperations
                    // Requests are parsed and responses written by the handler itself.
                    try sync.addHandler(
                        HTTP1ServerHandler(
                            connection: ClientConnection(
                                slot: slot,
                                pool: state.pool,
                                balancerCursors: state.cursors,
                                dates: state.dates,
                                counters: counters,
                                configuration: configuration,
                                logger: logger
                            )
                        )
                    )
                }
            }
            .bind(host: host, port: port)
            .get()
        logger.notice("proxy listening", metadata: ["listen.address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        return ProxyServer(serverChannel: channel, connections: connections, loopStates: states, statistics: statistics)
    }

    /// Stops accepting, closes idle keep-alive connections, lets in-flight requests finish (their
    /// connections close after the response), and returns once all are closed or `timeout` passed.
    public func shutdown(timeout: Duration) async {
        try? await self.serverChannel.close()
        self.connections.quiesce()
        let deadline = ContinuousClock.now + timeout
        while self.connections.count > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        self.connections.closeAll()
        for state in self.loopStates {
            try? await state.eventLoop.submit { state.value.pool.closeAll() }.get()
        }
    }
}

/// Open client connections, for graceful shutdown.
final class ConnectionRegistry: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        self.channels.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { _ in
            self.channels.withLock { _ = $0.removeValue(forKey: id) }
        }
    }

    var count: Int { self.channels.withLock { $0.count } }

    /// The proxy handler closes an idle connection on this event and a busy one after its response.
    func quiesce() {
        for channel in self.channels.withLock({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    func closeAll() {
        for channel in self.channels.withLock({ Array($0.values) }) {
            channel.close(promise: nil)
        }
    }
}
