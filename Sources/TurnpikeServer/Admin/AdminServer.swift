public import Logging
public import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
public import TurnpikePlugins

/// The admin listener (read-only apart from `POST /reload`), Kong-shaped JSON.
public final class AdminServer: Sendable {
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    public var localAddress: SocketAddress? { self.channel.localAddress }

    public static func start(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        store: SnapshotStore,
        reloader: ConfigReloader,
        statistics: ProxyStatistics?,
        serverToken: String,
        registry: PluginRegistry,
        logger: Logger
    ) async throws -> AdminServer {
        let gate = ReloadGate()
        let collections = AdminCollections(registry: registry)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        AdminHandler(
                            store: store,
                            reloader: reloader,
                            statistics: statistics,
                            gate: gate,
                            serverToken: serverToken,
                            collections: collections,
                            logger: logger
                        )
                    )
                }
            }
            .bind(host: host, port: port)
            .get()
        logger.notice("admin listening", metadata: ["listen.address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        return AdminServer(channel: channel)
    }

    public func shutdown() async {
        try? await self.channel.close()
    }
}

/// Lets one `POST /reload` run at a time; a second one gets 429, as Kong's `POST /config` does.
final class ReloadGate: Sendable {
    private let busy = Mutex(false)

    func tryEnter() -> Bool {
        self.busy.withLock { busy in
            if busy { return false }
            busy = true
            return true
        }
    }

    func leave() {
        self.busy.withLock { $0 = false }
    }
}
