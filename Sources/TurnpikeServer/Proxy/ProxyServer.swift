public import Logging
public import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
import TurnpikeEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The proxy listeners: accept client connections and give each an `HTTP1ServerHandler` bound to
/// the snapshot slot, upstream pool and balancer cursors of its event loop (behind TLS on `ssl`
/// listeners, `TLSDetector`).
public final class ProxyServer: Sendable {
    private let serverChannels: [any Channel]
    private let connections: ConnectionRegistry
    private let loopStates: [NIOLoopBound<LoopState>]
    /// Connection and request counters (Kong's `GET /status` `server` object).
    public let statistics: ProxyStatistics

    /// Per-loop mutable state: used only on its loop.
    final class LoopState {
        let pool: UpstreamPool
        let cursors = BalancerCursors()
        let dates = HTTPDateCache()
        let logEntities = LogEntityCache()

        init(eventLoop: any EventLoop, tlsContexts: UpstreamTLSContexts) {
            self.pool = UpstreamPool(eventLoop: eventLoop, tlsContexts: tlsContexts)
        }
    }

    private init(
        serverChannels: [any Channel],
        connections: ConnectionRegistry,
        loopStates: [NIOLoopBound<LoopState>],
        statistics: ProxyStatistics
    ) {
        self.serverChannels = serverChannels
        self.connections = connections
        self.loopStates = loopStates
        self.statistics = statistics
    }

    /// The first listener's bound address (useful with port 0).
    public var localAddress: SocketAddress? { self.serverChannels.first?.localAddress }

    /// Every listener's bound address, in the order they were given.
    public var localAddresses: [SocketAddress?] { self.serverChannels.map(\.localAddress) }

    /// Binds one plain listener on `host:port` and starts accepting.
    public static func start(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        store: SnapshotStore,
        configuration: ProxyConfiguration = ProxyConfiguration(),
        logger: Logger
    ) async throws -> ProxyServer {
        try await Self.start(
            listeners: [ProxyListener(host: host, port: port)],
            certificate: nil,
            group: group,
            store: store,
            configuration: configuration,
            logger: logger
        )
    }

    public struct NoCertificate: Error, CustomStringConvertible {
        public var description: String { "a TLS listener needs a certificate" }
    }

    /// Binds every listener (Kong's `proxy_listen` entries) and starts accepting. Listeners with
    /// `ssl` present `certificate`; its TLS context is made once, here.
    public static func start(
        listeners: [ProxyListener],
        certificate: ServerCertificate?,
        upstreamTLS: UpstreamTLSContexts = UpstreamTLSContexts(),
        group: any EventLoopGroup,
        store: SnapshotStore,
        configuration: ProxyConfiguration = ProxyConfiguration(),
        logger: Logger
    ) async throws -> ProxyServer {
        var loopStates: [NIOLoopBound<LoopState>] = []
        for loop in group.makeIterator() {
            let state = try await loop.submit {
                NIOLoopBound(LoopState(eventLoop: loop, tlsContexts: upstreamTLS), eventLoop: loop)
            }.get()
            loopStates.append(state)
        }
        let states = loopStates
        let statistics = try await ProxyStatistics(group: group)
        let connections = ConnectionRegistry()
        var tls: NIOSSLContext?
        if listeners.contains(where: \.ssl) {
            guard let certificate else { throw NoCertificate() }
            tls = try ServerTLS.makeContext(certificate)
        }
        var channels: [any Channel] = []
        do {
            for listener in listeners {
                let channel = try await Self.bind(
                    listener,
                    tls: listener.ssl ? tls : nil,
                    group: group,
                    store: store,
                    states: states,
                    statistics: statistics,
                    connections: connections,
                    configuration: configuration,
                    logger: logger
                )
                channels.append(channel)
                logger.notice(
                    "proxy listening",
                    metadata: [
                        "listen.address": "\(channel.localAddress.map { "\($0)" } ?? "?")",
                        "listen.tls": "\(listener.ssl)",
                    ]
                )
            }
        } catch {
            for channel in channels { try? await channel.close() }
            throw error
        }
        return ProxyServer(
            serverChannels: channels,
            connections: connections,
            loopStates: states,
            statistics: statistics
        )
    }

    private static func bind(
        _ listener: ProxyListener,
        tls: NIOSSLContext?,
        group: any EventLoopGroup,
        store: SnapshotStore,
        states: [NIOLoopBound<LoopState>],
        statistics: ProxyStatistics,
        connections: ConnectionRegistry,
        configuration: ProxyConfiguration,
        logger: Logger
    ) async throws -> any Channel {
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: Int32(clamping: listener.backlog ?? 4096))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        if listener.reusePort {
            bootstrap = bootstrap.serverChannelOption(
                .socket(SocketOptionLevel(SOL_SOCKET), SO_REUSEPORT),
                value: 1
            )
        }
        return
            try await bootstrap
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
                    let connection = ClientConnection(
                        slot: slot,
                        pool: state.pool,
                        balancerCursors: state.cursors,
                        dates: state.dates,
                        counters: counters,
                        configuration: configuration,
                        logger: logger,
                        isTLS: tls != nil,
                        logEntities: state.logEntities
                    )
                    // Requests are parsed and responses written by the handler itself; on a TLS
                    // listener the detector puts the TLS handler in front of it.
                    let http = HTTP1ServerHandler(connection: connection)
                    if let tls {
                        try sync.addHandler(TLSDetector(tls: tls, connection: connection, http: http))
                    }
                    try sync.addHandler(http)
                }
            }
            .bind(host: listener.host, port: listener.port)
            .get()
    }

    /// Stops accepting, closes idle keep-alive connections, lets in-flight requests finish (their
    /// connections close after the response), and returns once all are closed or `timeout` passed.
    public func shutdown(timeout: Duration) async {
        for channel in self.serverChannels { try? await channel.close() }
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
