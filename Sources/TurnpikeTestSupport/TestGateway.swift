import Foundation
import Logging
import NIOCore
public import NIOPosix
public import TurnpikeEngine
public import TurnpikePlugins
public import TurnpikeServer

/// A real gateway and a real upstream on 127.0.0.1, ports chosen by the kernel, in this process.
public final class TestGateway {
    public let group: MultiThreadedEventLoopGroup
    public let mock: MockServer
    public let proxy: ProxyServer
    public let store: SnapshotStore
    public let mockPort: Int
    public let proxyPort: Int

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `yaml` may use `{{MOCK}}` for the mock upstream's `127.0.0.1:<port>`.
    public static func start(
        yaml: String,
        configuration: ProxyConfiguration = ProxyConfiguration(),
        registry: PluginRegistry = .builtIn
    ) async throws -> TestGateway {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        var logger = Logger(label: "turnpike.test")
        // TURNPIKE_TEST_LOG=debug shows the gateway's own logs while debugging a test.
        logger.logLevel =
            ProcessInfo.processInfo.environment["TURNPIKE_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        let mock = try await MockServer.start(host: "127.0.0.1", port: 0, group: group, logger: logger)
        let mockPort = mock.localAddress?.port ?? 0
        let text = yaml.replacingAll("{{MOCK}}", "127.0.0.1:\(mockPort)")
        let loader = ConfigLoader(builder: SnapshotBuilder(registry: registry))
        guard case .valid(let snapshot) = loader.compile(Array(text.utf8), file: "test.yaml") else {
            let outcome = loader.compile(Array(text.utf8), file: "test.yaml")
            throw Failure(description: "test config invalid: \(outcome)")
        }
        let store = SnapshotStore(initial: snapshot, group: group)
        let proxy = try await ProxyServer.start(
            host: "127.0.0.1",
            port: 0,
            group: group,
            store: store,
            configuration: configuration,
            logger: logger
        )
        return TestGateway(
            group: group,
            mock: mock,
            proxy: proxy,
            store: store,
            mockPort: mockPort,
            proxyPort: proxy.localAddress?.port ?? 0
        )
    }

    /// Starts a gateway, runs `body` with it and stops it, also when `body` throws.
    public static func with(
        yaml: String,
        configuration: ProxyConfiguration = ProxyConfiguration(),
        registry: PluginRegistry = .builtIn,
        _ body: (TestGateway) async throws -> Void
    ) async throws {
        let gateway = try await Self.start(yaml: yaml, configuration: configuration, registry: registry)
        do {
            try await body(gateway)
        } catch {
            await gateway.stop()
            throw error
        }
        await gateway.stop()
    }

    private init(
        group: MultiThreadedEventLoopGroup,
        mock: MockServer,
        proxy: ProxyServer,
        store: SnapshotStore,
        mockPort: Int,
        proxyPort: Int
    ) {
        self.group = group
        self.mock = mock
        self.proxy = proxy
        self.store = store
        self.mockPort = mockPort
        self.proxyPort = proxyPort
    }

    public func stop() async {
        await self.proxy.shutdown(timeout: .seconds(1))
        try? await self.mock.close()
        try? await self.group.shutdownGracefully()
    }
}

extension String {
    func replacingAll(_ target: String, _ replacement: String) -> String {
        self.split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
