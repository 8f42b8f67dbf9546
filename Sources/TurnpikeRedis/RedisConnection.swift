public import NIOCore
import NIOPosix
public import NIOSSL

/// One connection to a Redis server, on one event loop: commands are written as RESP arrays and
/// their replies matched in order (Redis answers in order), so several commands can be in flight
/// (pipelined) on one connection. A command that gets no reply within its timeout fails, and the
/// connection closes (later replies could no longer be matched); so does every command in flight
/// when the connection breaks. Loop-confined apart from `connect`.
public final class RedisConnection: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// TLS to the server (`redis.ssl`), with the name to verify/send (`redis.server_name`).
        public var tls: NIOSSLContext?
        public var serverName: String?
        public var username: String?
        public var password: String?
        public var database: Int
        /// Connect and per-command timeout (`redis.timeout`, Kong's milliseconds).
        public var timeout: TimeAmount

        public init(
            host: String,
            port: Int = 6379,
            tls: NIOSSLContext? = nil,
            serverName: String? = nil,
            username: String? = nil,
            password: String? = nil,
            database: Int = 0,
            timeout: TimeAmount = .seconds(2)
        ) {
            self.host = host
            self.port = port
            self.tls = tls
            self.serverName = serverName
            self.username = username
            self.password = password
            self.database = database
            self.timeout = timeout
        }
    }

    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }

    public let channel: any Channel
    let handler: RedisClientHandler
    let timeout: TimeAmount

    init(channel: any Channel, handler: RedisClientHandler, timeout: TimeAmount) {
        self.channel = channel
        self.handler = handler
        self.timeout = timeout
    }

    public var eventLoop: any EventLoop { self.channel.eventLoop }
    public var isOpen: Bool { self.handler.isOpen }

    /// Connects on `eventLoop`, then authenticates and selects the database (Kong's order).
    public static func connect(
        _ configuration: Configuration,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<RedisConnection> {
        let tls = configuration.tls
        let serverName = configuration.serverName
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls { try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                    try sync.addHandler(ByteToMessageHandler(RESPDecoder()))
                    try sync.addHandler(RedisClientHandler())
                }
            }
            .connect(host: configuration.host, port: configuration.port)
            .flatMapThrowing { channel in
                let handler = try channel.pipeline.syncOperations.handler(type: RedisClientHandler.self)
                return RedisConnection(channel: channel, handler: handler, timeout: configuration.timeout)
            }
            .flatMap { connection in
                var setup: [[String]] = []
                if let password = configuration.password {
                    setup.append(configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password])
                }
                if configuration.database != 0 { setup.append(["SELECT", String(configuration.database)]) }
                guard !setup.isEmpty else { return eventLoop.makeSucceededFuture(connection) }
                return connection.send(setup).flatMapThrowing { replies in
                    for reply in replies {
                        // The server's message, never the password.
                        if case .error(let message) = reply {
                            connection.close()
                            throw Failure(description: "redis: \(message)")
                        }
                    }
                    return connection
                }
            }
    }

    /// Sends one command; the reply (an `.error` reply is a value, not a failure).
    public func send(_ command: [String]) -> EventLoopFuture<RESPValue> {
        self.send([command]).map { $0[0] }
    }

    /// Sends commands in one write (a pipeline); their replies in order.
    public func send(_ commands: [[String]]) -> EventLoopFuture<[RESPValue]> {
        let loop = self.channel.eventLoop
        guard loop.inEventLoop else {
            return loop.flatSubmit { self.send(commands) }
        }
        guard self.handler.isOpen else {
            return loop.makeFailedFuture(Failure(description: "redis: connection closed"))
        }
        var buffer = self.channel.allocator.buffer(capacity: 64 * commands.count)
        var futures: [EventLoopFuture<RESPValue>] = []
        futures.reserveCapacity(commands.count)
        for command in commands {
            RESPEncoder.encode(command, into: &buffer)
            let promise = loop.makePromise(of: RESPValue.self)
            self.handler.expect(promise)
            futures.append(promise.futureResult)
        }
        self.handler.write(buffer, timeout: self.timeout)
        return EventLoopFuture.whenAllSucceed(futures, on: loop)
    }

    public func close() {
        self.channel.close(promise: nil)
    }
}

/// Matches replies to the commands waiting for them, in order; fails them all when the
/// connection breaks or a reply is late.
final class RedisClientHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = RESPValue
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var waiting = CircularBuffer<EventLoopPromise<RESPValue>>()
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    private(set) var isOpen = true

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func expect(_ promise: EventLoopPromise<RESPValue>) {
        self.waiting.append(promise)
    }

    func write(_ buffer: ByteBuffer, timeout: TimeAmount) {
        guard let context else {
            self.failAll(RedisConnection.Failure(description: "redis: connection closed"))
            return
        }
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
        if self.timer == nil { self.arm(timeout) }
    }

    /// One timer for the oldest command in flight: re-armed as replies come.
    private func arm(_ timeout: TimeAmount) {
        guard let context else { return }
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            guard let self else { return }
            self.timer = nil
            self.isOpen = false
            self.failAll(RedisConnection.Failure(description: "redis: timeout"))
            self.context?.close(promise: nil)
        }
        self.timeout = timeout
    }

    private var timeout: TimeAmount = .seconds(2)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = self.unwrapInboundIn(data)
        guard let promise = self.waiting.popFirst() else {
            // A reply nobody asked for: the stream can no longer be trusted.
            context.close(promise: nil)
            return
        }
        self.timer?.cancel()
        self.timer = nil
        if !self.waiting.isEmpty { self.arm(self.timeout) }
        promise.succeed(value)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.isOpen = false
        self.failAll(RedisConnection.Failure(description: "redis: \(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.isOpen = false
        self.timer?.cancel()
        self.timer = nil
        self.failAll(RedisConnection.Failure(description: "redis: connection closed"))
        context.fireChannelInactive()
    }

    private func failAll(_ error: any Error) {
        while let promise = self.waiting.popFirst() { promise.fail(error) }
    }
}
