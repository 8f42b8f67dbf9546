import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import TurnpikeEngine
import TurnpikeModel
import TurnpikePlugins

/// The upstream part of one request: connects (or reuses a pooled connection), streams the
/// request body up and the response down, retries as Kong does, and reports back to its
/// `RequestPipeline`.
///
/// Loop-confined: the client connection, the upstream connection and every callback run on one
/// event loop.
final class Exchange: UpstreamDelegate {
    /// Unowned, not weak: a weak reference gives the pipeline a side table, which makes every
    /// retain of it slow. The pipeline outlives every call into it: a closed client marks the
    /// exchange finished (`clientClosed`) before the pipeline goes, and every entry point checks
    /// `finished` before touching it.
    private unowned let pipeline: RequestPipeline
    private let pool: UpstreamPool
    /// The request head as sent upstream (kept for retries).
    private var upstreamHead: UpstreamRequestHead
    /// The request body goes up chunked (the client sent it chunked).
    private let chunkedBody: Bool
    private let expectContinue: Bool
    private let webSocketUpgrade: Bool
    private var key: UpstreamKey
    private let service: ServicePlan
    private let method: HTTPMethod

    private var connection: UpstreamConnection?
    private var reusedConnection = false
    /// Body parts received before the upstream connection is ready.
    private var pendingBody: [ByteBuffer] = []
    private var pendingBytes = 0
    /// The body so far, while it fits the replay buffer; nil once it does not (no more retries).
    private var replay: [ByteBuffer]? = []
    private var replayBytes = 0
    private(set) var clientEnded = false
    private var headSent = false
    private var bytesSentUpstream = false
    private var upstreamNeedsFlush = false
    private(set) var responseStarted = false
    /// A 101 went to the client; the connections become a tunnel at the response's end.
    private var upgrading = false
    private var finished = false
    private var attempts = 0
    private var sentAt: NIODeadline?
    private var proxyLatency: Int64 = 0

    init(
        pipeline: RequestPipeline,
        pool: UpstreamPool,
        upstreamHead: UpstreamRequestHead,
        chunkedBody: Bool,
        expectContinue: Bool,
        webSocketUpgrade: Bool,
        key: UpstreamKey,
        service: ServicePlan
    ) {
        self.pipeline = pipeline
        self.pool = pool
        self.method = pipeline.head.method
        self.upstreamHead = upstreamHead
        self.chunkedBody = chunkedBody
        self.expectContinue = expectContinue
        self.webSocketUpgrade = webSocketUpgrade
        self.key = key
        self.service = service
        self.lastUpstreamRead = pipeline.start
    }

    private var requestID: String { self.pipeline.requestID }
    private var logger: Logger { self.pipeline.connection.logger }
    private var downstream: any Downstream { self.pipeline.downstream }

    private var eventLoop: any EventLoop { self.pool.eventLoop }

    /// Starts the exchange; `requestEnded` when the request has no body still to come (the read
    /// timer then starts with the head's send, with no second clock read).
    func begin(requestEnded: Bool = false) {
        if requestEnded { self.clientEnded = true }
        // Expect: 100-continue is answered here (as nginx does); the upstream never sees it.
        if self.expectContinue { self.downstream.sendContinue() }
        self.attempts = 1
        self.acquire()
    }

    // MARK: - Connecting

    private func acquire() {
        if let idle = self.pool.takeIdle(self.key) {
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
        guard !self.finished else {
            connection.channel.close(promise: nil)
            return
        }
        self.connection = connection
        self.reusedConnection = reused
        self.logger.trace(
            "upstream attached",
            metadata: [
                "request.id": "\(self.requestID)", "reused": "\(reused)", "pending": "\(self.pendingBytes)",
                "ended": "\(self.clientEnded)",
            ]
        )
        connection.handler.delegate = self
        connection.handler.prepareForRequest()
        self.headSent = true
        let now = NIODeadline.now()
        self.sentAt = now
        self.proxyLatency = Latency.milliseconds(from: self.pipeline.start, to: now)
        let upstream = connection.handler
        upstream.expectResponse(to: self.method)
        upstream.send(self.upstreamHead.bytes)
        for part in self.pendingBody {
            self.sendBody(part, to: upstream)
        }
        self.pendingBody = []
        self.pendingBytes = 0
        if self.clientEnded {
            if self.chunkedBody { upstream.send(ChunkedFraming.terminator(allocator: connection.channel.allocator)) }
            self.startReadTimer(now: now)
        }
        upstream.flush()
        self.downstream.resumeReads()
    }

    private func connectFailed(_ error: any Error) {
        guard !self.finished else { return }
        let kind: UpstreamError
        if case ChannelError.connectTimeout = error {
            kind = .connectTimeout
        } else if let connectionError = error as? NIOConnectionError, connectionError.connectionErrors.isEmpty,
            connectionError.dnsAError != nil || connectionError.dnsAAAAError != nil
        {
            self.fail(status: .serviceUnavailable, message: "name resolution failed")
            return
        } else {
            kind = .connectFailed("\(error)")
        }
        self.logger.debug(
            "upstream connect failed",
            metadata: ["upstream.target": "\(self.key)", "request.id": "\(self.requestID)", "error": "\(error)"]
        )
        if self.canRetry(afterBytesSent: false) {
            self.retry()
        } else {
            self.failFor(kind)
        }
    }

    // MARK: - Request body from the client

    func clientBody(_ buffer: ByteBuffer) {
        guard !self.finished else { return }
        if self.replay != nil {
            if self.replayBytes + buffer.readableBytes <= self.pipeline.connection.configuration.replayBufferBytes {
                self.replay?.append(buffer)
                self.replayBytes += buffer.readableBytes
            } else {
                self.replay = nil
            }
        }
        if let connection = self.connection, self.headSent {
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
        self.logger.trace("client end", metadata: ["request.id": "\(self.requestID)", "headSent": "\(self.headSent)"])
        // Once: a bodiless request's exchange began ended (`begin(requestEnded:)`).
        guard !self.finished, !self.clientEnded else { return }
        self.clientEnded = true
        if let connection = self.connection, self.headSent {
            if self.chunkedBody {
                connection.handler.send(ChunkedFraming.terminator(allocator: connection.channel.allocator))
                self.upstreamNeedsFlush = true
            }
            // A request without a body was flushed with its head already.
            if self.upstreamNeedsFlush { connection.handler.flush() }
            self.upstreamNeedsFlush = false
            self.startReadTimer(now: .now())
        }
    }

    private func sendBody(_ buffer: ByteBuffer, to upstream: UpstreamHandler) {
        guard buffer.readableBytes > 0 else { return }
        if self.chunkedBody {
            upstream.sendChunk(buffer)
        } else {
            upstream.send(buffer)
        }
        self.bytesSentUpstream = true
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
        guard !self.finished else { return }
        self.finished = true
        self.cancelReadTimer()
        if let connection = self.connection {
            connection.handler.delegate = nil
            connection.channel.close(promise: nil)
            self.connection = nil
        }
    }

    // MARK: - Response from the upstream

    func upstreamResponseHead(_ head: ResponseHead) {
        guard !self.finished else { return }
        let code = head.status
        if code == 101 && !self.webSocketUpgrade {
            // A 101 nobody asked for: not a response we can relay.
            self.upstreamFailed(.invalidResponse)
            return
        }
        let now = NIODeadline.now()
        self.lastUpstreamRead = now
        self.readClockFresh = true
        self.responseStarted = true
        if code == 101 {
            // A WebSocket handshake the upstream accepted: both connections become a byte relay
            // at the response's end (never returned to the pool).
            self.upgrading = true
            self.cancelReadTimer()
        }
        self.pipeline.upstreamResponseHead(
            head,
            upstreamLatencyMs: self.sentAt.map { Latency.milliseconds(from: $0, to: now) } ?? 0,
            proxyLatencyMs: self.proxyLatency
        )
    }

    func upstreamResponseBody(_ buffer: ByteBuffer) {
        guard !self.finished, buffer.readableBytes > 0 else { return }
        self.pipeline.upstreamResponseBody(buffer)
        if !self.downstream.isWritable { self.connection?.handler.pauseReads() }
    }

    func upstreamReadComplete() {
        guard !self.finished else { return }
        // Every socket read counts for read_timeout (a head or chunk framing arriving slowly too);
        // the clock is read once per read, not per body part.
        self.restartReadTimer()
        self.downstream.flush()
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        if isWritable && !self.finished {
            self.writeTimer?.cancel()
            self.writeTimer = nil
            self.downstream.resumeReads()
        }
    }

    /// `write_timeout`: the longest time the upstream may refuse more of the request body.
    private var writeTimer: Scheduled<Void>?

    private func startWriteTimer() {
        guard self.writeTimer == nil else { return }
        let timeout = TimeAmount.milliseconds(Int64(self.service.writeTimeout))
        self.writeTimer = self.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            self.writeTimer = nil
            guard !self.finished, let connection = self.connection, !connection.channel.isWritable else { return }
            self.logger.debug(
                "upstream write timeout",
                metadata: ["upstream.target": "\(self.key)", "request.id": "\(self.requestID)"]
            )
            self.upstreamFailed(.writeTimeout)
        }
    }

    func upstreamResponseEnd() {
        guard !self.finished else { return }
        self.finished = true
        self.cancelReadTimer()
        if self.upgrading, let connection = self.connection {
            self.connection = nil
            connection.handler.delegate = nil
            // Leave the decoder's callback before touching the pipelines.
            let pipeline = self.pipeline
            self.pool.eventLoop.assumeIsolated().execute {
                pipeline.upstreamUpgraded(connection.channel)
            }
            return
        }
        if let connection = self.connection {
            self.connection = nil
            // Reusable only after a complete request and a keep-alive response.
            if self.clientEnded && connection.handler.lastResponseKeepAlive {
                self.pool.release(connection, now: self.lastUpstreamRead)
            } else {
                connection.handler.delegate = nil
                connection.channel.close(promise: nil)
            }
        }
        self.pipeline.upstreamResponseEnded()
    }

    func upstreamFailed(_ error: UpstreamError) {
        guard !self.finished else { return }
        self.cancelReadTimer()
        let connection = self.connection
        self.connection = nil
        if let connection {
            connection.handler.delegate = nil
            connection.channel.close(promise: nil)
        }
        if self.responseStarted {
            // Part of the response already went out: the client must see a cut connection, never a
            // response that looks complete.
            self.finished = true
            self.pipeline.upstreamFailedMidResponse()
            return
        }
        // A pooled connection the upstream had closed: try a fresh one, invisibly, even with
        // `retries: 0` (nothing reached the upstream's application).
        if self.reusedConnection, !(connection?.handler.receivedResponseBytes ?? true), self.replay != nil,
            error != .readTimeout, error != .writeTimeout
        {
            self.logger.debug(
                "stale pooled upstream connection, reconnecting",
                metadata: ["upstream.target": "\(self.key)"]
            )
            self.resetForNewAttempt()
            self.reusedConnection = false
            let timeout = TimeAmount.milliseconds(Int64(self.service.connectTimeout))
            self.pool.connect(self.key, timeout: timeout) { result in
                switch result {
                case .success(let connection): self.attach(connection, reused: false)
                case .failure(let error): self.connectFailed(error)
                }
            }
            return
        }
        if self.canRetry(afterBytesSent: self.bytesSentUpstream) {
            self.retry()
        } else {
            self.failFor(error)
        }
    }

    // MARK: - Retries and failures

    /// Kong retries connection errors and timeouts up to `retries` times; a request whose body no
    /// longer fits the replay buffer cannot be sent again, and a non-idempotent one is not sent
    /// again once any byte of it went out.
    private func canRetry(afterBytesSent: Bool) -> Bool {
        guard self.attempts <= self.service.retries, self.replay != nil else { return false }
        if afterBytesSent || self.headSent {
            switch self.method {
            case .POST, .PATCH, .LOCK: return false
            default: return true
            }
        }
        return true
    }

    private func retry() {
        self.attempts += 1
        self.resetForNewAttempt()
        if let balancer = self.service.balancer, !balancer.slots.isEmpty {
            // Each retry asks the balancer for the next peer.
            if let i = balancer.slots.firstIndex(of: RoundRobin.Peer(host: self.key.host, port: self.key.port)) {
                let peer = balancer.slots[(i + 1) % balancer.slots.count]
                self.key = UpstreamKey(host: peer.host, port: peer.port)
                self.upstreamHead.retarget(
                    host: self.service.upstreamHost(targetHost: peer.host, targetPort: peer.port),
                    allocator: self.downstream.allocator
                )
            }
        }
        self.acquire()
    }

    private func resetForNewAttempt() {
        self.headSent = false
        self.bytesSentUpstream = false
        self.pendingBody = self.replay ?? []
        self.pendingBytes = self.replayBytes
    }

    private func failFor(_ error: UpstreamError) {
        switch error {
        case .connectTimeout, .readTimeout, .writeTimeout:
            self.fail(status: .gatewayTimeout, message: "The upstream server is timing out")
        default:
            self.fail(status: .badGateway, message: "An invalid response was received from the upstream server")
        }
    }

    private func fail(status: HTTPResponseStatus, message: String) {
        guard !self.finished else { return }
        self.finished = true
        self.cancelReadTimer()
        self.logger.debug(
            "upstream failed",
            metadata: ["upstream.target": "\(self.key)", "request.id": "\(self.requestID)", "status": "\(status.code)"]
        )
        self.pipeline.upstreamFailed(status: status, message: message)
    }

    // MARK: - Timers

    /// `read_timeout` is the longest gap between two reads from the upstream, counted once the
    /// request has been sent. No timer per request: reads only note their time, and the upstream
    /// connection's one timer (`UpstreamConnection.watch`) asks `upstreamTimerFired` when it fires.
    private var lastUpstreamRead: NIODeadline
    /// `lastUpstreamRead` was set during the current read (by the response head).
    private var readClockFresh = false
    private var readTimerActive = false

    private func startReadTimer(now: NIODeadline) {
        self.lastUpstreamRead = now
        self.readClockFresh = false
        self.readTimerActive = true
        self.connection?.watch(until: self.lastUpstreamRead + .milliseconds(Int64(self.service.readTimeout)))
    }

    private func restartReadTimer() {
        // The head's arrival already read the clock during this read.
        if self.readClockFresh {
            self.readClockFresh = false
            return
        }
        self.lastUpstreamRead = .now()
    }

    private func cancelReadTimer() {
        self.readTimerActive = false
        self.writeTimer?.cancel()
        self.writeTimer = nil
    }

    /// The connection's timer fired while this exchange uses it: fails the exchange when the
    /// upstream has been silent for `read_timeout`; otherwise returns when to look again.
    func upstreamTimerFired() -> NIODeadline? {
        guard !self.finished, self.readTimerActive else { return nil }
        let timeout = TimeAmount.milliseconds(Int64(self.service.readTimeout))
        let deadline = self.lastUpstreamRead + timeout
        if NIODeadline.now() < deadline { return deadline }
        self.logger.debug(
            "upstream read timeout",
            metadata: ["upstream.target": "\(self.key)", "request.id": "\(self.requestID)"]
        )
        self.upstreamFailed(.readTimeout)
        return nil
    }
}
