public import Foundation
import Logging
import NIOCore
public import NIOPosix
import NIOSSL
import TurnpikeEngine
public import TurnpikePlugins
public import TurnpikeServer

/// A real gateway (proxy and admin listeners) and a real upstream on 127.0.0.1, ports chosen by
/// the kernel, in this process. The config lives in a temporary file, so reloads can be tested.
public final class TestGateway {
    public let group: MultiThreadedEventLoopGroup
    public let mock: MockServer
    /// The same echo upstream over TLS (a certificate for `localhost` issued by
    /// `TestCertificates.mockAuthority`).
    public let tlsMock: MockServer
    public let tlsMockPort: Int
    /// The TLS mock again, demanding a client certificate issued by the same authority.
    public let mtlsMock: MockServer
    public let mtlsMockPort: Int
    public let proxy: ProxyServer
    public let admin: AdminServer
    public let store: SnapshotStore
    public let reloader: ConfigReloader
    public let mockPort: Int
    public let proxyPort: Int
    /// The TLS listener's port, when the gateway was started with a certificate.
    public let proxyTLSPort: Int?
    public let adminPort: Int
    /// The config file the reloader reads.
    public let configFile: URL

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `yaml` may use `{{MOCK}}` for the mock upstream's `127.0.0.1:<port>`, `{{MOCK_TLS_PORT}}`
    /// for the TLS mock's port.
    public static func start(
        yaml: String,
        configuration: ProxyConfiguration = ProxyConfiguration(),
        registry: PluginRegistry = .builtIn,
        certificate: ServerCertificate? = nil
    ) async throws -> TestGateway {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        var logger = Logger(label: "turnpike.test")
        // TURNPIKE_TEST_LOG=debug shows the gateway's own logs while debugging a test.
        logger.logLevel =
            ProcessInfo.processInfo.environment["TURNPIKE_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        let mock = try await MockServer.start(host: "127.0.0.1", port: 0, group: group, logger: logger)
        let mockPort = mock.localAddress?.port ?? 0
        let tlsMock = try await MockServer.start(
            host: "127.0.0.1",
            port: 0,
            group: group,
            certificate: try Self.mockCertificate(),
            logger: logger
        )
        let tlsMockPort = tlsMock.localAddress?.port ?? 0
        let mtlsMock = try await MockServer.start(
            host: "127.0.0.1",
            port: 0,
            group: group,
            certificate: try Self.mockCertificate(),
            clientCAs: [
                try NIOSSLCertificate(bytes: Array(TestCertificates.mockAuthority.certificatePEM.utf8), format: .pem)
            ],
            logger: logger
        )
        let mtlsMockPort = mtlsMock.localAddress?.port ?? 0
        let configFile = try CommandRunner.temporaryDirectory().appendingPathComponent("kong.yaml")
        let text = Self.expand(yaml, mockPort: mockPort, tlsMockPort: tlsMockPort, mtlsMockPort: mtlsMockPort)
        try text.write(to: configFile, atomically: true, encoding: .utf8)
        let loader = ConfigLoader.serving(registry: registry, logger: logger)
        guard case .valid(let snapshot) = loader.load(path: configFile.path) else {
            throw Failure(description: "test config invalid: \(loader.load(path: configFile.path))")
        }
        let store = SnapshotStore(initial: snapshot, group: group)
        var listeners = [ProxyListener(host: "127.0.0.1", port: 0)]
        if certificate != nil { listeners.append(ProxyListener(host: "127.0.0.1", port: 0, ssl: true)) }
        let proxy = try await ProxyServer.start(
            listeners: listeners,
            certificate: certificate,
            upstreamTLS: loader.tlsContexts ?? UpstreamTLSContexts(),
            group: group,
            store: store,
            configuration: configuration,
            logger: logger
        )
        let reloader = ConfigReloader(path: configFile.path, loader: loader, store: store, logger: logger)
        let admin = try await AdminServer.start(
            host: "127.0.0.1",
            port: 0,
            group: group,
            store: store,
            reloader: reloader,
            statistics: proxy.statistics,
            serverToken: configuration.serverToken,
            registry: registry,
            logger: logger
        )
        return TestGateway(
            group: group,
            mock: mock,
            tlsMock: tlsMock,
            tlsMockPort: tlsMockPort,
            mtlsMock: mtlsMock,
            mtlsMockPort: mtlsMockPort,
            proxy: proxy,
            admin: admin,
            store: store,
            reloader: reloader,
            mockPort: mockPort,
            configFile: configFile
        )
    }

    static func mockCertificate() throws -> ServerCertificate {
        let pair = try TestCertificates.mockAuthority.issue(["localhost"])
        return ServerCertificate(
            chain: [try NIOSSLCertificate(bytes: Array(pair.certificatePEM.utf8), format: .pem)],
            key: try NIOSSLPrivateKey(bytes: Array(pair.keyPEM.utf8), format: .pem)
        )
    }

    static func expand(_ yaml: String, mockPort: Int, tlsMockPort: Int, mtlsMockPort: Int) -> String {
        yaml.replacingAll("{{MOCK}}", "127.0.0.1:\(mockPort)").replacingAll("{{MOCK_TLS_PORT}}", "\(tlsMockPort)")
            .replacingAll("{{MOCK_MTLS_PORT}}", "\(mtlsMockPort)")
    }

    /// Replaces the config file (`{{MOCK}}` expanded); a reload then reads it.
    public func writeConfig(_ yaml: String) throws {
        try Self.expand(yaml, mockPort: self.mockPort, tlsMockPort: self.tlsMockPort, mtlsMockPort: self.mtlsMockPort)
            .write(
                to: self.configFile,
                atomically: true,
                encoding: .utf8
            )
    }

    /// Starts a gateway, runs `body` with it and stops it, also when `body` throws.
    public static func with(
        yaml: String,
        configuration: ProxyConfiguration = ProxyConfiguration(),
        registry: PluginRegistry = .builtIn,
        certificate: ServerCertificate? = nil,
        _ body: (TestGateway) async throws -> Void
    ) async throws {
        let gateway = try await Self.start(
            yaml: yaml,
            configuration: configuration,
            registry: registry,
            certificate: certificate
        )
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
        tlsMock: MockServer,
        tlsMockPort: Int,
        mtlsMock: MockServer,
        mtlsMockPort: Int,
        proxy: ProxyServer,
        admin: AdminServer,
        store: SnapshotStore,
        reloader: ConfigReloader,
        mockPort: Int,
        configFile: URL
    ) {
        self.group = group
        self.mock = mock
        self.tlsMock = tlsMock
        self.tlsMockPort = tlsMockPort
        self.mtlsMock = mtlsMock
        self.mtlsMockPort = mtlsMockPort
        self.proxy = proxy
        self.admin = admin
        self.store = store
        self.reloader = reloader
        self.mockPort = mockPort
        self.proxyPort = proxy.localAddress?.port ?? 0
        self.proxyTLSPort = proxy.localAddresses.count > 1 ? proxy.localAddresses[1]?.port : nil
        self.adminPort = admin.localAddress?.port ?? 0
        self.configFile = configFile
    }

    public func stop() async {
        await self.admin.shutdown()
        await self.proxy.shutdown(timeout: .seconds(1))
        try? await self.mock.close()
        try? await self.tlsMock.close()
        try? await self.mtlsMock.close()
        try? await self.group.shutdownGracefully()
        try? FileManager.default.removeItem(at: self.configFile.deletingLastPathComponent())
    }
}

extension String {
    func replacingAll(_ target: String, _ replacement: String) -> String {
        self.split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
