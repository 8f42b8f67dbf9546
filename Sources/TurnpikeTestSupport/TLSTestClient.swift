import NIOConcurrencyHelpers
public import NIOCore
import NIOHTTP1
public import NIOPosix
public import NIOSSL

/// An HTTPS client for tests: one GET (or any method) on a fresh TLS connection, with the server
/// name to send (SNI) and the roots to trust chosen by the test; it also returns the certificate
/// the server presented, so a test can tell which one was chosen.
public enum TLSTestClient {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(name: String, value: String)]
        public var body: String
        /// The leaf certificate the server presented.
        public var peerCertificate: NIOSSLCertificate?

        public func header(_ name: String) -> String? {
            self.headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `serverName`: the SNI sent (nil: none). `trustRoots`: verify the server against these
    /// (and the name against `serverName`); nil accepts any certificate.
    public static func request(
        port: Int,
        method: String = "GET",
        path: String,
        host: String = "localhost",
        headers: [(String, String)] = [],
        serverName: String? = nil,
        trustRoots: [NIOSSLCertificate]? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> Response {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.applicationProtocols = ["http/1.1"]
        let seen = NIOLockedValueBox<NIOSSLCertificate?>(nil)
        let verify: Bool
        if let trustRoots {
            configuration.trustRoots = .certificates(trustRoots)
            verify = true
        } else {
            configuration.certificateVerification = .none
            verify = false
        }
        let context = try NIOSSLContext(configuration: configuration)
        let collector = ResponseCollector(eventLoop: group.next())
        let channel = try await ClientBootstrap(group: collector.promise.futureResult.eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let tls: NIOSSLClientHandler
                    if verify {
                        tls = try NIOSSLClientHandler(context: context, serverHostname: serverName)
                    } else {
                        tls = try NIOSSLClientHandler(
                            context: context,
                            serverHostname: serverName,
                            customVerificationCallback: { certificates, promise in
                                seen.withLockedValue { $0 = certificates.first }
                                promise.succeed(.certificateVerified)
                            }
                        )
                    }
                    try channel.pipeline.syncOperations.addHandler(tls)
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        // A failed handshake shows as the collector's error (the write only sees a closed channel).
        try? await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        // Asked now: the server closes after the response (Connection: close).
        let peer = verify ? try? await channel.nioSSL_peerCertificate().get() : nil
        var response = try await collector.promise.futureResult.get()
        try? await channel.close()
        response.peerCertificate = verify ? peer : seen.withLockedValue { $0 }
        return response
    }
}

/// Collects one HTTP response; fails on an error or a close before the end.
private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    let promise: EventLoopPromise<TLSTestClient.Response>
    private var response = TLSTestClient.Response(status: 0, headers: [], body: "")
    private var done = false

    init(eventLoop: any EventLoop) {
        self.promise = eventLoop.makePromise()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.response.status = Int(head.status.code)
            self.response.headers = head.headers.map { ($0.name, $0.value) }
        case .body(let buffer):
            self.response.body += String(buffer: buffer)
        case .end:
            self.done = true
            self.promise.succeed(self.response)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !self.done {
            self.done = true
            self.promise.fail(error)
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        guard !self.done else { return }
        self.done = true
        self.promise.fail(TLSTestClient.Failure(description: "connection closed before the response ended"))
    }
}
