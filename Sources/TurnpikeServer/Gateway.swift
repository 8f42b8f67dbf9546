public import Logging
public import NIOCore
import NIOPosix
public import ServiceLifecycle
public import TurnpikeEngine
import TurnpikePlugins
import UnixSignals

/// `turnpike start` as a service: binds the proxy and admin listeners, reloads on SIGHUP, and on
/// graceful shutdown (SIGTERM/SIGINT) stops accepting and drains in-flight requests.
public final class Gateway: Service, Sendable {
    public struct Options: Sendable {
        public var configPath: String
        /// Kong's `proxy_listen` entries; `ssl` ones present `certificate`.
        public var proxyListeners: [ProxyListener]
        public var certificate: ServerCertificate?
        public var adminHost: String
        public var adminPort: Int
        public var drainTimeout: Duration
        public var proxy: ProxyConfiguration

        public init(
            configPath: String,
            proxyListeners: [ProxyListener],
            certificate: ServerCertificate?,
            adminHost: String,
            adminPort: Int,
            drainTimeout: Duration,
            proxy: ProxyConfiguration
        ) {
            self.configPath = configPath
            self.proxyListeners = proxyListeners
            self.certificate = certificate
            self.adminHost = adminHost
            self.adminPort = adminPort
            self.drainTimeout = drainTimeout
            self.proxy = proxy
        }
    }

    private let options: Options
    private let group: any EventLoopGroup
    private let store: SnapshotStore
    private let reloader: ConfigReloader
    /// The plugins' process-wide state (the loader's builder hands it to every plugin instance).
    private let stores: PluginStores
    /// The plugins (and credential kinds) this gateway runs, for the admin API's names.
    private let registry: PluginRegistry
    private let upstreamTLS: UpstreamTLSContexts
    private let logger: Logger

    public init(options: Options, group: any EventLoopGroup, initial: Snapshot, loader: ConfigLoader, logger: Logger) {
        self.options = options
        self.group = group
        self.store = SnapshotStore(initial: initial, group: group)
        self.reloader = ConfigReloader(path: options.configPath, loader: loader, store: self.store, logger: logger)
        self.stores = loader.builder.stores
        self.registry = loader.builder.registry
        self.upstreamTLS = loader.tlsContexts ?? UpstreamTLSContexts()
        self.logger = logger
    }

    public func run() async throws {
        let proxy = try await ProxyServer.start(
            listeners: self.options.proxyListeners,
            certificate: self.options.certificate,
            upstreamTLS: self.upstreamTLS,
            group: self.group,
            store: self.store,
            configuration: self.options.proxy,
            logger: self.logger
        )
        let admin: AdminServer
        do {
            admin = try await AdminServer.start(
                host: self.options.adminHost,
                port: self.options.adminPort,
                group: self.group,
                store: self.store,
                reloader: self.reloader,
                statistics: proxy.statistics,
                serverToken: self.options.proxy.serverToken,
                registry: self.registry,
                logger: self.logger
            )
        } catch {
            await proxy.shutdown(timeout: .zero)
            throw error
        }
        let reloader = self.reloader
        // SIGHUP reloads until shutdown begins; the listeners live until then.
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                let hangups = await UnixSignalsSequence(trapping: .sighup)
                for await _ in hangups.cancelOnGracefulShutdown() {
                    _ = await reloader.reload()
                }
            }
            group.addTask {
                try? await gracefulShutdown()
            }
            await group.next()
            group.cancelAll()
        }
        self.logger.notice(
            "shutting down: draining in-flight requests",
            metadata: ["drain.timeout": "\(self.options.drainTimeout)"]
        )
        await admin.shutdown()
        await proxy.shutdown(timeout: self.options.drainTimeout)
        // What plugins buffered (queued log entries, counters) goes out before the exit.
        await self.stores.flush()
        self.logger.notice("stopped")
    }
}
