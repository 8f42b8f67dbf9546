import NIOCore
public import NIOPosix
import Synchronization

/// An upstream that answers every request head with the same raw bytes and records the heads it
/// got, for tests that need a response `turnpike mock` cannot send (any header, any framing).
/// Request bodies are not expected: each `\r\n\r\n` ends one request.
public final class ScriptedUpstream: Sendable {
    private let channel: any Channel
    private let record: Record
    public let port: Int

    private init(channel: any Channel, record: Record) {
        self.channel = channel
        self.record = record
        self.port = channel.localAddress?.port ?? 0
    }

    /// The request heads received so far, as text.
    public var heads: [String] { self.record.all() }

    public static func start(group: MultiThreadedEventLoopGroup, response: String) async throws -> ScriptedUpstream {
        let record = Record()
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler(response: response, record: record))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return ScriptedUpstream(channel: channel, record: record)
    }

    public func close() async {
        try? await self.channel.close()
    }

    /// Starts an upstream on its own event loop, runs `body` with it and closes it.
    public static func with(response: String, _ body: (ScriptedUpstream) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let upstream = try await Self.start(group: group, response: response)
        do {
            try await body(upstream)
        } catch {
            await upstream.close()
            try? await group.shutdownGracefully()
            throw error
        }
        await upstream.close()
        try? await group.shutdownGracefully()
    }

    /// The heads received, shared by the server's connections.
    final class Record: Sendable {
        private let heads = Mutex<[String]>([])

        func append(_ head: String) { self.heads.withLock { $0.append(head) } }
        func all() -> [String] { self.heads.withLock { $0 } }
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let response: String
        let record: Record
        var pending = ""

        init(response: String, record: Record) {
            self.response = response
            self.record = record
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            self.pending += String(buffer: self.unwrapInboundIn(data))
            while let end = self.pending.firstRange(of: "\r\n\r\n") {
                self.record.append(String(self.pending[..<end.upperBound]))
                self.pending.removeSubrange(..<end.upperBound)
                context.writeAndFlush(self.wrapOutboundOut(ByteBuffer(string: self.response)), promise: nil)
            }
        }
    }
}
