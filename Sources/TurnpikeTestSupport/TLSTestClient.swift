import NIOConcurrencyHelpers
public import NIOCore
import NIOHTTP1
public import NIOPosix
public import NIOSSL

/// An HTTPS client for tests: the server name to send (SNI) and the roots to trust are chosen by
/// the test; the certificate the server presented is returned, so a test can tell which one was
/// chosen. `request` makes one request on a fresh connection; a `Session` keeps its connection
/// for several.
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
        signatureAlgorithms: [SignatureAlgorithm]? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> Response {
        let session = try await Session.open(
            port: port,
            serverName: serverName,
            trustRoots: trustRoots,
            signatureAlgorithms: signatureAlgorithms,
            group: group
        )
        defer { session.close() }
        return try await session.request(
            method: method,
            path: path,
            host: host,
            headers: headers + [("Connection", "close")]
        )
    }

    /// One TLS connection, kept open between requests.
    public final class Session: Sendable {
        let channel: any Channel
        let collector: ResponseCollector
        let seen: NIOLockedValueBox<NIOSSLCertificate?>

        init(channel: any Channel, collector: ResponseCollector, seen: NIOLockedValueBox<NIOSSLCertificate?>) {
            self.channel = channel
            self.collector = collector
            self.seen = seen
        }

        public static func open(
            port: Int,
            serverName: String? = nil,
            trustRoots: [NIOSSLCertificate]? = nil,
            signatureAlgorithms: [SignatureAlgorithm]? = nil,
            group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
        ) async throws -> Session {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.applicationProtocols = ["http/1.1"]
            // The signature schemes offered (an RSA-only client, say).
            configuration.verifySignatureAlgorithms = signatureAlgorithms
            if let trustRoots {
                configuration.trustRoots = .certificates(trustRoots)
            } else {
                configuration.certificateVerification = .none
            }
            let context = try NIOSSLContext(configuration: configuration)
            let seen = NIOLockedValueBox<NIOSSLCertificate?>(nil)
            let collector = ResponseCollector()
            let verify = trustRoots != nil
            let channel = try await ClientBootstrap(group: group)
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
            return Session(channel: channel, collector: collector, seen: seen)
        }

        public func request(
            method: String = "GET",
            path: String,
            host: String = "localhost",
            headers: [(String, String)] = []
        ) async throws -> Response {
            let promise = self.channel.eventLoop.makePromise(of: Response.self)
            self.collector.expect(promise)
            var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path)
            head.headers.add(name: "Host", value: host)
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            self.channel.write(HTTPClientRequestPart.head(head), promise: nil)
            // A failed handshake shows as the collector's error (the write only sees a closed channel).
            try? await self.channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
            var response = try await promise.futureResult.get()
            response.peerCertificate = try await self.peerCertificate()
            return response
        }

        /// The leaf certificate the server presented.
        public func peerCertificate() async throws -> NIOSSLCertificate? {
            if let seen = self.seen.withLockedValue({ $0 }) { return seen }
            return try? await self.channel.nioSSL_peerCertificate().get()
        }

        public func close() {
            self.channel.close(promise: nil)
        }
    }
}

/// Collects responses in order; fails the waiting one on an error or a close.
final class ResponseCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart

    private struct State {
        var waiting: [EventLoopPromise<TLSTestClient.Response>] = []
        var response = TLSTestClient.Response(status: 0, headers: [], body: "")
        var failure: (any Error)?
    }

    private let state = NIOLockedValueBox(State())

    func expect(_ promise: EventLoopPromise<TLSTestClient.Response>) {
        let failure: (any Error)? = self.state.withLockedValue { state in
            if let failure = state.failure { return failure }
            state.waiting.append(promise)
            return nil
        }
        if let failure { promise.fail(failure) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = self.unwrapInboundIn(data)
        let done: (EventLoopPromise<TLSTestClient.Response>, TLSTestClient.Response)? = self.state.withLockedValue {
            state in
            switch part {
            case .head(let head):
                state.response = TLSTestClient.Response(
                    status: Int(head.status.code),
                    headers: head.headers.map { ($0.name, $0.value) },
                    body: ""
                )
            case .body(let buffer):
                state.response.body += String(buffer: buffer)
            case .end:
                guard !state.waiting.isEmpty else { return nil }
                return (state.waiting.removeFirst(), state.response)
            }
            return nil
        }
        if let (promise, response) = done { promise.succeed(response) }
    }

    private func failAll(_ error: any Error) {
        let waiting = self.state.withLockedValue { state in
            if state.failure == nil { state.failure = error }
            defer { state.waiting = [] }
            return state.waiting
        }
        for promise in waiting { promise.fail(error) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(TLSTestClient.Failure(description: "connection closed before the response ended"))
    }
}
