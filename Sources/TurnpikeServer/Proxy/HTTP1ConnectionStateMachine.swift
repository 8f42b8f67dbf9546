/// The life of one HTTP/1 client connection as a value: whether a request is in progress, whether
/// its request and its response have ended, and what the handler must do at each event. Pure: no
/// channel, no clock; `HTTP1ServerHandler` carries the actions out. One request at a time (a
/// pipelined request waits as bytes until the connection is idle again).
struct HTTP1ConnectionStateMachine {
    enum State: Equatable {
        /// Between requests, nothing of the next one read yet.
        case idle
        /// A request head is arriving.
        case readingHead
        /// A request is being answered.
        case active(requestEnded: Bool, responseEnded: Bool)
        /// Closing, or handed over to a tunnel: everything is dropped.
        case closed
    }

    enum Action: Equatable {
        case none
        /// Hand the event to the request's pipeline.
        case forward
        /// The request is answered: drop the event (the rest of its body).
        case drop
        /// The request is over: parse the next one (bytes may be waiting).
        case takeNextRequest
        /// Answer the error the parser found, then close.
        case answerErrorAndClose
        /// Close the connection.
        case close
        /// Close the connection; the request in progress ends with it (its exchange is dropped).
        case abortRequestAndClose
    }

    private(set) var state = State.idle
    /// Graceful shutdown: close as soon as no request is in progress.
    private(set) var closeWhenIdle = false

    /// What nginx's counters call the connection now.
    var activity: ProxyStatistics.Activity {
        switch self.state {
        case .idle, .closed: return .waiting
        case .readingHead: return .reading
        case .active: return .writing
        }
    }

    var isIdle: Bool { self.state == .idle }

    var isClosed: Bool { self.state == .closed }

    /// Bytes arrived while no request is in progress: a head is arriving.
    mutating func bytesArrived() {
        if self.state == .idle { self.state = .readingHead }
    }

    /// A complete head; the request starts being answered.
    mutating func headReceived() {
        precondition(self.state == .idle || self.state == .readingHead, "a head while \(self.state)")
        self.state = .active(requestEnded: false, responseEnded: false)
    }

    /// A piece of the request body.
    func bodyReceived() -> Action {
        switch self.state {
        case .active(requestEnded: false, responseEnded: false): return .forward
        default: return .drop
        }
    }

    /// The request's last byte was read.
    mutating func requestEnded() -> Action {
        guard case .active(false, let responseEnded) = self.state else { return .none }
        if !responseEnded {
            self.state = .active(requestEnded: true, responseEnded: false)
            return .forward
        }
        return self.finished()
    }

    /// The response's last byte was written; `close` when the connection cannot carry another.
    mutating func responseEnded(close: Bool) -> Action {
        guard case .active(let requestEnded, false) = self.state else { return .none }
        if close {
            self.state = .closed
            return .close
        }
        if requestEnded { return self.finished() }
        // The rest of the request body is read and dropped before the next request.
        self.state = .active(requestEnded: false, responseEnded: true)
        return .none
    }

    private mutating func finished() -> Action {
        if self.closeWhenIdle {
            self.state = .closed
            return .close
        }
        self.state = .idle
        return .takeNextRequest
    }

    /// The parser refused the bytes (RFC 9112 §2.2, §11.2): answered once, then closed.
    /// `responseStarted`: part of a response already went out for the request in progress.
    mutating func parseFailed(responseStarted: Bool) -> Action {
        let before = self.state
        self.state = .closed
        switch before {
        case .idle, .readingHead:
            return .answerErrorAndClose
        case .active(_, responseEnded: false):
            // A framing error in the body (a bad chunk size): the request is void, say so if
            // nothing of its response went out yet.
            return responseStarted ? .abortRequestAndClose : .answerErrorAndClose
        case .active(_, responseEnded: true), .closed:
            // Answered already: a second answer would be taken for the next request's.
            return .close
        }
    }

    /// The connection closed (or must close now).
    mutating func closed() -> Action {
        let before = self.state
        self.state = .closed
        if case .active(_, responseEnded: false) = before { return .abortRequestAndClose }
        return before == .closed ? .none : .close
    }

    /// The response became a tunnel: the connection is no longer HTTP.
    mutating func upgraded() {
        self.state = .closed
    }

    /// Graceful shutdown: an idle connection closes now, a busy one after its response.
    mutating func quiesce() -> Action {
        self.closeWhenIdle = true
        if self.state == .idle {
            self.state = .closed
            return .close
        }
        return .none
    }

    /// Whether the keep-alive timeout (nginx's client_header/client_body timeouts) applies: the
    /// connection waits for the client, not for an upstream. `readsPaused`: the gateway holds the
    /// client back (its upstream is slow), which the upstream's timeouts cover instead.
    func waitsForClient(readsPaused: Bool) -> Bool {
        switch self.state {
        case .idle, .readingHead: return true
        case .active(requestEnded: false, responseEnded: true): return true
        case .active(requestEnded: false, responseEnded: false): return !readsPaused
        case .active(requestEnded: true, _), .closed: return false
        }
    }
}
