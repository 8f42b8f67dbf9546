import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import TurnpikeEngine
import TurnpikeModel
import TurnpikePlugins

/// The upstream part of one request: connects (or reuses a pooled connection), streams the
/// request body up and the response down, retries as Kong does, and reports back to its
/// `RequestPipeline`. Its decisions are `ExchangeStateMachine`'s; this class does the I/O.
///
/// Loop-confined: the client connection, the upstream connection and every callback run on one
/// event loop.
final class Exchange: UpstreamDelegate {
    /// Unowned, not weak: a weak reference gives the pipeline a side table, which makes every
    /// retain of it slow. The pipeline outlives every call into it: a closed client finishes the
    /// exchange (`clientClosed`) before the pipeline goes, and every entry point checks that.
    private unowned let pipeline: RequestPipeline
    private let pool: UpstreamPool
    private var machine: ExchangeStateMachine
    /// The request head as sent upstream (kept for retries).
    private var upstreamHead: UpstreamRequestHead
    /// The request body goes up chunked (the client sent it chunked).
    private let chunkedBody: Bool
    private let expectContinue: Bool
    private var key: UpstreamKey
    private let service: ServicePlan
    private let method: HTTPMethod

    private var connection: UpstreamConnection?
    /// Body parts received before the upstream connection is ready.
    private var pendingBody: [ByteBuffer] = []
    private var pendingBytes = 0
    /// The body so far, while it fits the replay buffer (for a second attempt).
    private var replay: [ByteBuffer] = []
    private var replayBytes = 0
    private var upstreamNeedsFlush = false
    private var sentAt: NIODeadline?
    private var proxyLatency: Int64 = 0
    /// `write_timeout`: the longest time the upstream may refuse more of the request body.
    private var writeTimer: Scheduled<Void>?
    /// The clock was read during the current upstream read (by the response head).
    private var readClockFresh = false
    /// The status the last failed attempt ended with (the log's `tries`).
    private var lastFailureStatus: Int?

    init(
        pipeline: RequestPipeline,
        pool: UpstreamPool,
        upstreamHead: UpstreamRequestHead,
        chunkedBody: Bool,
        expectContinue: Bool,
        webSocketUpgrade: Bool,
        key: UpstreamKey,
        service: ServicePlan,
        requestEnded: Bool,
        method: HTTPMethod
    ) {
        self.pipeline = pipeline
        self.pool = pool
        // The method sent upstream (a plugin may change it): what the response is read for.
        self.method = method
        self.upstreamHead = upstreamHead
        self.chunkedBody = chunkedBody
        self.expectContinue = expectContinue
        self.key = key
        self.service = service
        self.machine = ExchangeStateMachine(
            policy: ExchangeStateMachine.Policy(
                retries: service.retries,
                method: method,
                readTimeout: .milliseconds(Int64(service.readTimeout)),
                webSocket: webSocketUpgrade
            ),
            start: pipeline.start,
            requestEnded: requestEnded
        )
    }

    private var requestID: RequestID { self.pipeline.requestID }
    private var logger: Logger { self.pipeline.connection.logger }
    private var downstream: any Downstream { self.pipeline.downstream }

    /// Starts the exchange (a request with no body still to come started ended: the read timer
    /// then starts with the head's send, with no second clock read).
    func begin() {
        // Expect: 100-continue is answered here (as nginx does); the upstream never sees it.
        if self.expectContinue { self.downstream.sendContinue() }
        self.acquire(fresh: false)
    }

    // MARK: - Connecting

    private func acquire(fresh: Bool) {
        self.pipeline.recordTry(host: self.key.host, port: self.key.port, previousFailedWith: self.lastFailureStatus)
        self.lastFailureStatus = nil
        if !fresh, let idle = self.pool.takeIdle(self.key) {
            self.attach(idle, reused: true)
            return
        }
        let timeout = TimeAmount.milliseconds(Int64(self.service.connectTimeout))
        self.pool.connect(self.key, timeout: timeout) { result in
            switch result {
            case .success(let connection): self.attach(connection, reused: false)
            case .failure(let error): self.connectFailed(error)
            }
        }
    }

    private func attach(_ connection: UpstreamConnection, reused: Bool) {
        guard !self.machine.isFinished else {
            connection.channel.close(promise: nil)
            return
        }
        self.connection = connection
        connection.handler.delegate = self
        connection.handler.prepareForRequest()
        let now = NIODeadline.now()
        self.sentAt = now
        self.proxyLatency = Latency.milliseconds(from: self.pipeline.start, to: now)
        let timerStarts = self.machine.connected(reused: reused, now: now)
        let upstream = connection.handler
        upstream.expectResponse(to: self.method)
        upstream.send(self.upstreamHead.bytes)
        for part in self.pendingBody { self.sendBody(part, to: upstream) }
        self.pendingBody = []
        self.pendingBytes = 0
        if timerStarts {
            if self.chunkedBody { upstream.send(ChunkedFraming.terminator(allocator: connection.channel.allocator)) }
            self.watchReads()
        }
        upstream.flush()
        self.downstream.resumeReads()
    }

    private func connectFailed(_ error: any Error) {
        guard !self.machine.isFinished else { return }
        let failure: ExchangeStateMachine.Failure
        if case ChannelError.connectTimeout = error {
            failure = .connectTimeout
        } else if let connectionError = error as? NIOConnectionError, connectionError.connectionErrors.isEmpty,
            connectionError.dnsAError != nil || connectionError.dnsAAAAError != nil
        {
            failure = .nameResolution
        } else {
            failure = .connectFailed
        }
        self.lastFailureStatus = failure == .connectTimeout ? 504 : 502
        self.logger.debug(
            "upstream connect failed",
            metadata: ["upstream.target": "\(self.key)", "request.id": "\(self.requestID)", "error": "\(error)"]
        )
        self.perform(self.machine.connectFailed(failure))
    }

    // MARK: - Request body from the client

    func clientBody(_ buffer: ByteBuffer) {
        guard !self.machine.isFinished else { return }
        if self.machine.replayable {
            if self.replayBytes + buffer.readableBytes <= self.pipeline.connection.configuration.replayBufferBytes {
                self.replay.append(buffer)
                self.replayBytes += buffer.readableBytes
            } else {
                self.machine.replayOverflowed()
                self.replay = []
            }
        }
        if let connection = self.connection {
            self.sendBody(buffer, to: connection.handler)
            self.upstreamNeedsFlush = true
            if !connection.channel.isWritable {
                self.downstream.pauseReads()
                self.startWriteTimer()
            }
        } else {
            self.pendingBody.append(buffer)
            self.pendingBytes += buffer.readableBytes
            // Connecting: hold the client back rather than buffer an unbounded body.
            if self.pendingBytes > 256 * 1024 { self.downstream.pauseReads() }
        }
    }

    func clientEnd() {
        guard self.machine.requestEnded(now: .now()), let connection = self.connection else { return }
        if self.chunkedBody {
            connection.handler.send(ChunkedFraming.terminator(allocator: connection.channel.allocator))
            self.upstreamNeedsFlush = true
        }
        // A request without a body was flushed with its head already.
        if self.upstreamNeedsFlush { connection.handler.flush() }
        self.upstreamNeedsFlush = false
        self.watchReads()
    }

    private func sendBody(_ buffer: ByteBuffer, to upstream: UpstreamHandler) {
        guard buffer.readableBytes > 0 else { return }
        if self.chunkedBody {
            upstream.sendChunk(buffer)
        } else {
            upstream.send(buffer)
        }
        self.machine.bodySentUpstream()
    }

    func flushUpstream() {
        if self.upstreamNeedsFlush, let connection = self.connection {
            self.upstreamNeedsFlush = false
            connection.handler.flush()
        }
    }

    func clientWritabilityChanged(isWritable: Bool) {
        guard let connection = self.connection else { return }
        if isWritable {
            connection.handler.resumeReads()
        } else {
            connection.handler.pauseReads()
        }
    }

    /// The client broke the protocol mid-request: drop the upstream side (same as a client close).
    func abort() {
        self.clientClosed()
    }

    /// The client went away: drop the upstream connection (it is mid-exchange, not reusable).
    func clientClosed() {
        guard self.machine.clientClosed() else { return }
        self.stopWriteTimer()
        self.dropConnection()
    }

    // MARK: - Response from the upstream

    func upstreamResponseHead(_ head: ResponseHead) {
        let now = NIODeadline.now()
        let action = self.machine.responseHead(status: head.status, now: now)
        guard action == .forwardHead else {
            self.perform(action)
            return
        }
        self.readClockFresh = true
        self.pipeline.upstreamResponseHead(
            head,
            upstreamLatencyMs: self.sentAt.map { Latency.milliseconds(from: $0, to: now) } ?? 0,
            proxyLatencyMs: self.proxyLatency
        )
    }

    func upstreamResponseBody(_ buffer: ByteBuffer) {
        guard !self.machine.isFinished, buffer.readableBytes > 0 else { return }
        self.pipeline.upstreamResponseBody(buffer)
        if !self.downstream.isWritable { self.connection?.handler.pauseReads() }
    }

    func upstreamReadComplete() {
        guard !self.machine.isFinished else { return }
        // Every socket read counts for read_timeout (a head or chunk framing arriving slowly too);
        // the clock is read once per read, not per body part (the head's reading serves).
        if self.readClockFresh {
            self.readClockFresh = false
        } else {
            self.machine.upstreamRead(now: .now())
        }
        self.downstream.flush()
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        if isWritable && !self.machine.isFinished {
            self.stopWriteTimer()
            self.downstream.resumeReads()
        }
    }

    func upstreamResponseEnd() {
        let keepAlive = self.connection?.handler.lastResponseKeepAlive ?? false
        self.perform(self.machine.responseEnded(keepAlive: keepAlive))
    }

    func upstreamFailed(_ error: UpstreamError) {
        // What the attempt ended with, for the log's `tries` (nginx: 504 for timeouts, else 502).
        switch error {
        case .connectTimeout, .readTimeout, .writeTimeout: self.lastFailureStatus = 504
        default: self.lastFailureStatus = 502
        }
        let failure: ExchangeStateMachine.Failure
        switch error {
        case .connectFailed: failure = .connectFailed
        case .connectTimeout: failure = .connectTimeout
        case .readTimeout: failure = .readTimeout
        case .writeTimeout: failure = .writeTimeout
        case .closedEarly: failure = .closedEarly
        case .io: failure = .io
        case .invalidResponse: failure = .invalidResponse
        }
        let received = self.connection?.handler.receivedResponseBytes ?? true
        self.perform(self.machine.upstreamFailed(failure, receivedResponseBytes: received))
    }

    // MARK: - Carrying out the machine's decisions

    private func perform(_ action: ExchangeStateMachine.Action) {
        switch action {
        case .none, .forwardHead:
            break
        case .retry:
            self.stopWriteTimer()
            self.dropConnection()
            self.prepareAttempt()
            if let balancer = self.service.balancer, !balancer.slots.isEmpty,
                let i = balancer.slots.firstIndex(of: RoundRobin.Peer(host: self.key.host, port: self.key.port))
            {
                // Each retry asks the balancer for the next peer.
                let peer = balancer.slots[(i + 1) % balancer.slots.count]
                let host = self.service.upstreamHost(targetHost: peer.host, targetPort: peer.port)
                var key = UpstreamKey(
                    host: peer.host,
                    port: peer.port,
                    tls: self.key.tls,
                    serverName: self.key.serverName
                )
                // A Host that follows the target takes the server name with it.
                if self.upstreamHead.hostFollowsTarget, key.tls != nil {
                    key.serverName = UpstreamTLS.serverName(forHost: host)
                }
                self.key = key
                self.upstreamHead.retarget(host: host, allocator: self.downstream.allocator)
            }
            self.acquire(fresh: false)
        case .reconnect:
            self.logger.debug(
                "stale pooled upstream connection, reconnecting",
                metadata: ["upstream.target": "\(self.key)"]
            )
            self.stopWriteTimer()
            self.dropConnection()
            self.prepareAttempt()
            self.acquire(fresh: true)
        case .fail(let status, let message):
            self.stopWriteTimer()
            self.dropConnection()
            self.logger.debug(
                "upstream failed",
                metadata: [
                    "upstream.target": "\(self.key)", "request.id": "\(self.requestID)", "status": "\(status.code)",
                ]
            )
            self.pipeline.upstreamFailed(status: status, message: message)
        case .abortClient:
            // Part of the response already went out: the client must see a cut connection, never a
            // response that looks complete.
            self.stopWriteTimer()
            self.dropConnection()
            self.pipeline.upstreamFailedMidResponse()
        case .releaseConnection, .closeConnection:
            self.stopWriteTimer()
            if let connection = self.connection {
                self.connection = nil
                if action == .releaseConnection {
                    self.pool.release(connection, now: self.machine.lastRead)
                } else {
                    connection.handler.delegate = nil
                    connection.channel.close(promise: nil)
                }
            }
            self.pipeline.upstreamResponseEnded()
        case .tunnel:
            self.stopWriteTimer()
            guard let connection = self.connection else { return }
            self.connection = nil
            connection.handler.delegate = nil
            // Leave the decoder's callback before touching the pipelines.
            let pipeline = self.pipeline
            self.pool.eventLoop.assumeIsolated().execute {
                pipeline.upstreamUpgraded(connection.channel)
            }
        }
    }

    /// A new attempt sends the whole body again.
    private func prepareAttempt() {
        self.pendingBody = self.replay
        self.pendingBytes = self.replayBytes
        self.upstreamNeedsFlush = false
    }

    /// The connection is mid-exchange: not reusable, closed.
    private func dropConnection() {
        guard let connection = self.connection else { return }
        self.connection = nil
        connection.handler.delegate = nil
        connection.channel.close(promise: nil)
    }

    // MARK: - Timers

    /// `read_timeout` is the longest gap between two reads from the upstream, counted once the
    /// request has been sent. No timer per request: reads only note their time, and the upstream
    /// connection's one timer (`UpstreamConnection.watch`) asks `upstreamTimerFired` when it fires.
    private func watchReads() {
        self.connection?.watch(until: self.machine.lastRead + self.machine.policy.readTimeout)
    }

    private func startWriteTimer() {
        guard self.writeTimer == nil else { return }
        let timeout = TimeAmount.milliseconds(Int64(self.service.writeTimeout))
        self.writeTimer = self.pool.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            self.writeTimer = nil
            guard !self.machine.isFinished, let connection = self.connection, !connection.channel.isWritable else {
                return
            }
            self.logger.debug(
                "upstream write timeout",
                metadata: ["upstream.target": "\(self.key)", "request.id": "\(self.requestID)"]
            )
            self.upstreamFailed(.writeTimeout)
        }
    }

    private func stopWriteTimer() {
        self.writeTimer?.cancel()
        self.writeTimer = nil
    }

    /// The connection's timer fired while this exchange uses it: fails the exchange when the
    /// upstream has been silent for `read_timeout`; otherwise returns when to look again.
    func upstreamTimerFired() -> NIODeadline? {
        switch self.machine.timerFired(now: .now()) {
        case .idle:
            return nil
        case .next(let deadline):
            return deadline
        case .timedOut:
            self.logger.debug(
                "upstream read timeout",
                metadata: ["upstream.target": "\(self.key)", "request.id": "\(self.requestID)"]
            )
            self.upstreamFailed(.readTimeout)
            return nil
        }
    }
}
