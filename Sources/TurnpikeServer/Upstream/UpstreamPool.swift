import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Keep-alive upstream connections of one event loop, by target. Used only on that loop, so a
/// proxied request never hops threads and the pool needs no lock.
final class UpstreamPool {
    let eventLoop: any EventLoop
    /// Client TLS contexts for `https` targets (made at load time, shared by every loop).
    let tlsContexts: UpstreamTLSContexts
    /// What is kept and for how long (`PoolPolicy`: pure, unit-tested).
    var policy = PoolPolicy()
    /// Idle connections by target. A connection keeps a reference to its target's list, so
    /// returning it to the pool hashes nothing; only taking one looks the target up.
    private var idle: [UpstreamKey: IdleList] = [:]
    /// The target the last `takeIdle` looked up, and its list (a target's list is never replaced
    /// but by `closeAll`, which forgets this too).
    private var lastTaken: (key: UpstreamKey, list: IdleList)?

    final class IdleList {
        var connections = IdleStack<UpstreamConnection>()
    }

    init(eventLoop: any EventLoop, tlsContexts: UpstreamTLSContexts = UpstreamTLSContexts()) {
        self.eventLoop = eventLoop
        self.tlsContexts = tlsContexts
    }

    /// A pooled idle connection to `key`, or nil.
    func takeIdle(_ key: UpstreamKey) -> UpstreamConnection? {
        self.eventLoop.preconditionInEventLoop()
        // Most requests of a loop go to the target the last one went to: compared, not hashed.
        let list: IdleList
        if let last = self.lastTaken, last.key == key {
            list = last.list
        } else {
            guard let found = self.idle[key] else { return nil }
            self.lastTaken = (key, found)
            list = found
        }
        let connection = list.connections.pop { $0.handler.isOpen }
        connection?.idleSince = nil
        return connection
    }

    /// Opens a new connection on this loop; `completion` runs on this loop.
    func connect(
        _ key: UpstreamKey,
        timeout: TimeAmount,
        completion: @escaping (Result<UpstreamConnection, any Error>) -> Void
    ) {
        let tls: UpstreamTLSContexts.Prepared?
        do {
            tls = try key.tls.map { try self.tlsContexts.material(for: $0) }
        } catch {
            completion(.failure(error))
            return
        }
        let connected = ClientBootstrap(group: self.eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 128 * 1024))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Header lines come from Turnpike's request parser or from the gateway: already valid.
                    // Requests go up as bytes the proxy writes; responses are parsed by the handler.
                    // An https target: TLS below it (the request waits in it until the handshake ends).
                    if let tls {
                        let handler: NIOSSLClientHandler
                        if let verifier = tls.verifier {
                            let targetIP = key.serverName == nil ? key.host : nil
                            handler = try NIOSSLClientHandler(
                                context: tls.context,
                                serverHostname: key.serverName,
                                customVerificationCallback: { presented, promise in
                                    verifier.verify(
                                        presented,
                                        serverName: key.serverName,
                                        targetIP: targetIP,
                                        promise: promise
                                    )
                                }
                            )
                        } else {
                            handler = try NIOSSLClientHandler(context: tls.context, serverHostname: key.serverName)
                        }
                        try channel.pipeline.syncOperations.addHandler(handler)
                        try channel.pipeline.syncOperations.addHandler(TLSHandshakeWaiter(eventLoop: channel.eventLoop))
                    }
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                }
            }
            .connect(host: key.host, port: key.port)
        // Over TLS the connection is ready once its handshake is done, within the connect
        // timeout again (nginx times the handshake with proxy_connect_timeout too).
        let ready =
            tls == nil
            ? connected
            : connected.flatMap { channel in
                guard let waiter = try? channel.pipeline.syncOperations.handler(type: TLSHandshakeWaiter.self) else {
                    return channel.eventLoop.makeSucceededFuture(channel)
                }
                let timer = channel.eventLoop.assumeIsolated().scheduleTask(in: timeout) { waiter.timeOut() }
                return waiter.done.futureResult.assumeIsolated().map { _ -> any Channel in
                    timer.cancel()
                    return channel
                }.flatMapErrorThrowing { error in
                    timer.cancel()
                    channel.close(promise: nil)
                    throw error
                }.nonisolated()
            }
        ready
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    // The connection was made on this loop, so its pipeline is ours to touch.
                    do {
                        let handler = try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
                        let connection = UpstreamConnection(channel: channel, key: key, handler: handler)
                        connection.idleList = self.list(for: key)
                        // Set once: a close forgets the connection if it idles here (a no-op otherwise).
                        // Holds the connection until the channel closes (then the handler drops the
                        // closure): a weak reference would give the connection a side table.
                        handler.onClose = { [weak self] in
                            guard let self else { return }
                            connection.stopTimer()
                            self.remove(connection)
                        }
                        connection.onIdleCheck = { [weak self] connection in
                            self?.checkIdle(connection)
                        }
                        completion(.success(connection))
                    } catch {
                        channel.close(promise: nil)
                        completion(.failure(error))
                    }
                case .failure(let error):
                    completion(.failure(error))
                }
            }
    }

    /// Returns a connection whose exchange finished cleanly; closes it when the pool is full or
    /// the connection has served its share. `now`: the caller's recent clock reading (the last
    /// read from the connection), so the idle time starts there.
    func release(_ connection: UpstreamConnection, now: NIODeadline = .now()) {
        self.eventLoop.preconditionInEventLoop()
        connection.handler.delegate = nil
        // An idle connection must keep reading, or a close by the upstream goes unnoticed.
        connection.handler.resumeReads()
        connection.requestsServed += 1
        guard let list = connection.idleList,
            self.policy.keeps(
                isOpen: connection.handler.isOpen,
                requestsServed: connection.requestsServed,
                idleCount: list.connections.count
            )
        else {
            connection.channel.close(promise: nil)
            return
        }
        list.connections.push(connection)
        connection.idleSince = now
        connection.watch(until: now + self.policy.idleTimeout)
    }

    /// The connection's timer fired while no exchange uses it: closes it once it idled for
    /// `idleTimeout`, otherwise returns when to look again.
    private func checkIdle(_ connection: UpstreamConnection) -> NIODeadline? {
        switch self.policy.idleCheck(idleSince: connection.idleSince, now: .now()) {
        case .inUse:
            return nil
        case .next(let deadline):
            return deadline
        case .close:
            connection.channel.close(promise: nil)
            return nil
        }
    }

    private func list(for key: UpstreamKey) -> IdleList {
        if let list = self.idle[key] { return list }
        let list = IdleList()
        self.idle[key] = list
        return list
    }

    private func remove(_ connection: UpstreamConnection) {
        connection.idleList?.connections.remove { $0 === connection }
    }

    /// Closes every idle connection (shutdown).
    func closeAll() {
        for (_, list) in self.idle {
            for connection in list.connections.removeAll() { connection.channel.close(promise: nil) }
        }
        self.idle = [:]
        self.lastTaken = nil
    }
}
