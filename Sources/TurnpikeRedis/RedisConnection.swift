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
        /// Commands sent once after `AUTH`/`SELECT` on each new connection (`SCRIPT LOAD`); an
        /// error reply fails the connect.
        public var setup: [[String]] = []

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
                setup += configuration.setup
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
        let promise = loop.makePromise(of: [RESPValue].self)
        self.send(commands) { promise.completeWith($0) }
        return promise.futureResult
    }

    /// Sends commands (a pipeline); `completion` gets their replies in order, or the failure, on
    /// the connection's loop. Call on that loop. The bytes go out with the next flush, once per
    /// loop iteration: commands of many requests handled in one iteration share one write.
    public func send(_ commands: [[String]], completion: @escaping (Result<[RESPValue], any Error>) -> Void) {
        self.channel.eventLoop.preconditionInEventLoop()
        guard self.handler.isOpen, !commands.isEmpty else {
            completion(
                commands.isEmpty ? .success([]) : .failure(Failure(description: "redis: connection closed"))
            )
            return
        }
        var buffer = self.channel.allocator.buffer(capacity: 64 * commands.count)
        for command in commands { RESPEncoder.encode(command, into: &buffer) }
        self.handler.send(buffer, replies: commands.count, timeout: self.timeout, completion: completion)
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

    /// One `send`: how many replies it still waits for, those it has, and who gets them.
    struct Waiter {
        var remaining: Int
        var replies: [RESPValue]
        let completion: (Result<[RESPValue], any Error>) -> Void
    }

    private var waiting = CircularBuffer<Waiter>()
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    private var flushScheduled = false
    private(set) var isOpen = true

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func send(
        _ buffer: ByteBuffer,
        replies: Int,
        timeout: TimeAmount,
        completion: @escaping (Result<[RESPValue], any Error>) -> Void
    ) {
        guard let context else {
            completion(.failure(RedisConnection.Failure(description: "redis: connection closed")))
            return
        }
        var waiter = Waiter(remaining: replies, replies: [], completion: completion)
        waiter.replies.reserveCapacity(replies)
        self.waiting.append(waiter)
        context.write(self.wrapOutboundOut(buffer), promise: nil)
        if !self.flushScheduled {
            // After the loop's current I/O: every request read in this iteration adds its
            // commands first, and they leave in one write.
            self.flushScheduled = true
            context.eventLoop.assumeIsolated().execute {
                self.flushScheduled = false
                self.context?.flush()
            }
        }
        if self.timer == nil { self.arm(timeout) }
    }

    /// One timer for the oldest command in flight: re-armed as replies come.
    private func arm(_ timeout: TimeAmount) {
        guard let context else { return }
        self.timer?.cancel()
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
        guard !self.waiting.isEmpty else {
            // A reply nobody asked for: the stream can no longer be trusted.
            context.close(promise: nil)
            return
        }
        self.timer?.cancel()
        self.timer = nil
        let first = self.waiting.startIndex
        self.waiting[first].replies.append(value)
        self.waiting[first].remaining -= 1
        if self.waiting[first].remaining == 0 {
            let done = self.waiting.removeFirst()
            done.completion(.success(done.replies))
        }
        if !self.waiting.isEmpty { self.arm(self.timeout) }
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
        while let waiter = self.waiting.popFirst() { waiter.completion(.failure(error)) }
    }
}
