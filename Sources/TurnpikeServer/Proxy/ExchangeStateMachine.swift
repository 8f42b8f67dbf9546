import NIOCore
import NIOHTTP1

/// The decisions of one upstream exchange, as a value: which attempt it is on, whether the
/// request may go again (Kong's `retries`), whether a response may still come, when the upstream
/// has been silent for too long, and what happens to the connection at the end. Pure: no channel,
/// no pool, the clock passed in. `Exchange` carries its actions out.
struct ExchangeStateMachine {
    enum State: Equatable {
        /// Waiting for a connection.
        case connecting
        /// Connected: the request goes up; no response byte yet.
        case sending
        /// The response head arrived; its body streams to the client.
        case receiving
        /// The upstream accepted a WebSocket upgrade: the connections become a tunnel at the end.
        case upgrading
        case finished
    }

    /// Why an attempt failed.
    enum Failure: Equatable {
        case connectTimeout
        case connectFailed
        /// The name did not resolve (no retry: Kong answers 503 at once).
        case nameResolution
        case readTimeout
        case writeTimeout
        case closedEarly
        case io
        case invalidResponse
    }

    enum Action: Equatable {
        case none
        /// Try again; a balanced service moves to its next target.
        case retry
        /// The pooled connection had been closed by the upstream before it read anything: a fresh
        /// connection to the same target, invisibly (not counted as an attempt, even with
        /// `retries: 0`, since nothing reached the upstream's application).
        case reconnect
        /// The gateway answers the client instead.
        case fail(HTTPResponseStatus, message: String)
        /// Part of the response already went out: the client must see a cut connection.
        case abortClient
        /// The response ended: the connection goes back to the pool, or is closed.
        case releaseConnection
        case closeConnection
        /// The response ended after a 101: both connections become a byte relay.
        case tunnel
        /// The response head may go to the client.
        case forwardHead
    }

    struct Policy {
        var retries: Int
        /// The method may be sent again after bytes of it went out (not POST, PATCH, LOCK).
        var idempotent: Bool
        var readTimeout: TimeAmount
        /// The request asked for a WebSocket upgrade (a 101 is expected only then).
        var webSocket: Bool

        init(retries: Int, method: HTTPMethod, readTimeout: TimeAmount, webSocket: Bool) {
            self.retries = retries
            switch method {
            case .POST, .PATCH, .LOCK: self.idempotent = false
            default: self.idempotent = true
            }
            self.readTimeout = readTimeout
            self.webSocket = webSocket
        }
    }

    let policy: Policy
    private(set) var state = State.connecting
    private(set) var attempts = 1
    /// The current connection came from the pool.
    private(set) var reused = false
    /// Request body bytes of this attempt went out.
    private(set) var bodySent = false
    /// The body so far still fits the replay buffer (without it there is no second attempt).
    private(set) var replayable = true
    private(set) var clientEnded = false
    /// `read_timeout` runs from the end of the request to the end of the response, reset by
    /// every read.
    private(set) var lastRead: NIODeadline
    private(set) var readTimerActive = false

    init(policy: Policy, start: NIODeadline, requestEnded: Bool) {
        self.policy = policy
        self.lastRead = start
        self.clientEnded = requestEnded
    }

    var isFinished: Bool { self.state == .finished }

    /// The head (and what was held of the body) can go up. True when the read timer starts now
    /// (the request had ended).
    mutating func connected(reused: Bool, now: NIODeadline) -> Bool {
        precondition(self.state == .connecting, "connected while \(self.state)")
        self.state = .sending
        self.reused = reused
        self.bodySent = false
        if self.clientEnded { self.startReadTimer(now: now) }
        return self.clientEnded
    }

    mutating func bodySentUpstream() {
        self.bodySent = true
    }

    /// The body no longer fits the replay buffer: no attempt after this one.
    mutating func replayOverflowed() {
        self.replayable = false
    }

    /// The request's last byte arrived. True when the read timer starts now (connected).
    mutating func requestEnded(now: NIODeadline) -> Bool {
        guard !self.clientEnded, self.state != .finished else { return false }
        self.clientEnded = true
        guard self.state == .sending || self.state == .receiving else { return false }
        self.startReadTimer(now: now)
        return true
    }

    private mutating func startReadTimer(now: NIODeadline) {
        self.lastRead = now
        self.readTimerActive = true
    }

    /// A read from the upstream (any bytes): it was not silent.
    mutating func upstreamRead(now: NIODeadline) {
        self.lastRead = now
    }

    /// Whether another attempt may go (Kong: connection errors and timeouts, up to `retries`;
    /// never without the whole body; a non-idempotent request never once it went out).
    private func mayRetry() -> Bool {
        guard self.attempts <= self.policy.retries, self.replayable else { return false }
        if self.state != .connecting && !self.policy.idempotent { return false }
        return true
    }

    mutating func connectFailed(_ failure: Failure) -> Action {
        guard self.state == .connecting else { return .none }
        if failure == .nameResolution { return self.fail(failure) }
        if self.mayRetry() {
            self.attempts += 1
            return .retry
        }
        return self.fail(failure)
    }

    /// The connection failed or closed before the response ended. `receivedResponseBytes`:
    /// whether anything of a response had arrived on it.
    mutating func upstreamFailed(_ failure: Failure, receivedResponseBytes: Bool) -> Action {
        switch self.state {
        case .finished, .connecting:
            return .none
        case .receiving, .upgrading:
            self.state = .finished
            self.readTimerActive = false
            return .abortClient
        case .sending:
            break
        }
        self.readTimerActive = false
        if self.reused && !receivedResponseBytes && self.replayable && failure != .readTimeout
            && failure != .writeTimeout
        {
            self.state = .connecting
            self.reused = false
            return .reconnect
        }
        if self.mayRetry() {
            self.attempts += 1
            self.state = .connecting
            return .retry
        }
        return self.fail(failure)
    }

    private mutating func fail(_ failure: Failure) -> Action {
        self.state = .finished
        self.readTimerActive = false
        switch failure {
        case .nameResolution:
            return .fail(.serviceUnavailable, message: "name resolution failed")
        case .connectTimeout, .readTimeout, .writeTimeout:
            return .fail(.gatewayTimeout, message: "The upstream server is timing out")
        case .connectFailed, .closedEarly, .io, .invalidResponse:
            return .fail(.badGateway, message: "An invalid response was received from the upstream server")
        }
    }

    /// The response head arrived.
    mutating func responseHead(status: Int, now: NIODeadline) -> Action {
        guard self.state == .sending else { return .none }
        if status == 101 && !self.policy.webSocket {
            // A 101 nobody asked for: not a response that can be relayed.
            return self.upstreamFailed(.invalidResponse, receivedResponseBytes: true)
        }
        self.lastRead = now
        if status == 101 {
            self.state = .upgrading
            self.readTimerActive = false
        } else {
            self.state = .receiving
        }
        return .forwardHead
    }

    /// The response's last byte arrived; `keepAlive`: the upstream allows another request.
    mutating func responseEnded(keepAlive: Bool) -> Action {
        let before = self.state
        guard before == .receiving || before == .upgrading else { return .none }
        self.state = .finished
        self.readTimerActive = false
        if before == .upgrading { return .tunnel }
        // Reusable only after a complete request and a keep-alive response.
        return self.clientEnded && keepAlive ? .releaseConnection : .closeConnection
    }

    /// The client went away (or broke the protocol): the connection is dropped.
    mutating func clientClosed() -> Bool {
        guard self.state != .finished else { return false }
        self.state = .finished
        self.readTimerActive = false
        return true
    }

    /// The connection's timer fired: `.timedOut` when the upstream was silent for
    /// `read_timeout`, else when to look again (nil: no read timer).
    enum TimerCheck: Equatable {
        case timedOut
        case next(NIODeadline)
        case idle
    }

    func timerFired(now: NIODeadline) -> TimerCheck {
        guard self.state != .finished, self.readTimerActive else { return .idle }
        let deadline = self.lastRead + self.policy.readTimeout
        return now < deadline ? .next(deadline) : .timedOut
    }
}
