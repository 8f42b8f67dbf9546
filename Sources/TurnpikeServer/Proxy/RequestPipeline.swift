import Logging
import NIOCore
import NIOHTTP1
import TurnpikeEngine
import TurnpikeModel
import TurnpikePlugins
import TurnpikeRouter

/// One request from its head to the end of its response, whatever protocol carries it: checks
/// what the parser leaves to it, routes with the snapshot of its loop, holds the body for plugins
/// that read it, runs the access chain, picks the target and hands the request to an `Exchange`;
/// then runs the response, body and log phases on what comes back. It talks to the client only
/// through `Downstream`, and its own answers (errors, plugin rejections) are values.
///
/// Loop-confined. Made by the client connection at each request head.
final class RequestPipeline {
    enum State {
        /// Checking, routing, running the access chain (within a call).
        case starting
        /// A plugin reads the body: it is held until complete (or too large), then access runs.
        case holdingBody
        /// An access handler waits for I/O (`PendingAccess`); the body is held meanwhile.
        case accessPending(PendingAccess)
        /// Handed to the upstream.
        case proxying(Exchange)
        /// The gateway answered (or is answering); the rest of the request body is dropped.
        case answered
    }

    let head: RequestHead
    let requestID: String
    let start: NIODeadline
    let connection: ClientConnection
    /// Unowned, not weak: a weak reference gives the object a side table, which makes every
    /// retain of it slow. The connection drops the pipeline when it closes or the request ends.
    unowned let downstream: any Downstream
    private var state = State.starting
    private let snapshot: Snapshot

    // Set once routed.
    private var match: RouteMatch?
    private var plan: RoutePlan?
    private var path: [UInt8] = []
    private var rawPath: Substring = ""
    private var queryStart: String.Index?
    /// The response, body and log handlers of the request (nil for routes without any: one check).
    private var observers: PhaseChains?
    private var routeID: EntityID?
    private var serviceID: EntityID?
    /// The consumer the access phase identified (for the response and log phases).
    private var consumer: Consumer?
    /// Kong's `kong.ctx`, from the access phase to the log phase.
    private var plugins = PluginContext()
    /// Body held for the access phase (or while it waits), and whether the request had ended.
    private var heldParts: [ByteBuffer] = []
    private var heldBytes = 0
    private var requestEnded = false
    /// Whether the access phase read the whole body (a 100 Continue went out for it already).
    private var bodyRead = false
    /// The access chain in progress: the next handler to run and the context they share.
    private var accessCursor = 0
    private var accessContext: AccessContext?
    private var accessTimer: Scheduled<Void>?
    /// The body filters of the current response (those that chose to change it).
    private var bodyFilters: [any BodyFilter] = []
    private var logged = false
    /// The upstream's status and latency, for the log phase.
    private var responseStatus = 0
    private var upstreamLatencyMs: Int64?
    /// Part of a response went to the client.
    private(set) var responseStarted = false

    init(head: RequestHead, start: NIODeadline, connection: ClientConnection, downstream: any Downstream) {
        self.head = head
        self.start = start
        self.connection = connection
        self.downstream = downstream
        self.requestID = connection.requestIDs.next()
        self.snapshot = connection.slot.value
    }

    // MARK: - Checks and routing

    func begin() {
        let head = self.head
        let configuration = self.connection.configuration
        // Limits the HTTP parser leaves to the gateway (RFC 9112 §3.2 for Host).
        if head.uri.utf8.count > configuration.maxURIBytes {
            self.respond(status: .uriTooLong, message: "URI too long", close: true, errorPage: true)
            return
        }
        let uri = head.uri
        let queryStart = uri.utf8.firstIndex(of: UInt8(ascii: "?"))
        let rawPath = queryStart.map { uri[..<$0] } ?? Substring(uri)
        // One Host on HTTP/1.1 (RFC 9112 §3.2) and an origin-form target.
        let badHost = head.hostCount > 1 || (head.hostCount == 0 && head.version.major == 1 && head.version.minor >= 1)
        guard !badHost, rawPath.utf8.first == UInt8(ascii: "/") else {
            self.respond(status: .badRequest, message: "Bad request", close: true, errorPage: true)
            return
        }
        // nginx refuses TRACE once the head is read, before any Kong phase
        // (ngx_http_process_request_header); Kong's error page renders the 405.
        if head.method == .TRACE {
            self.respond(status: .methodNotAllowed, message: "Method not allowed", errorPage: true)
            return
        }

        let snapshot = self.snapshot
        let path = PathNormalizer.normalize(Array(rawPath.utf8))
        var routeHeaders: [(name: String, value: String)] = []
        if snapshot.routes.needsHeaders { routeHeaders = head.stringPairs(limit: configuration.maxHeaderCount) }
        let request = RouteRequest(
            method: head.method.rawValue,
            host: head.host,
            port: self.connection.localPort,
            path: path,
            headers: routeHeaders
        )
        guard let match = snapshot.routes.match(request) else {
            // Kong answers the router's 404 before any access handler runs (`Kong.access` ->
            // `runloop.access.before`, kong/runloop/handler.lua): a global key-auth never turns it
            // into a 401. Global plugins still see the 404 in their response and log phases.
            self.observe(snapshot.globalChains)
            self.respond(status: .notFound, message: "no Route matched with those values")
            return
        }
        let plan = snapshot.routePlans[match.routeIndex]
        if !plan.acceptsHTTP {
            self.redirectToHTTPS(statusCode: plan.httpsRedirectStatusCode)
            return
        }
        self.match = match
        self.plan = plan
        self.path = path
        self.rawPath = rawPath
        self.queryStart = queryStart
        self.routeID = snapshot.model.routes[match.routeIndex].id
        self.serviceID = plan.service?.id
        let chains = snapshot.chains[match.routeIndex]
        self.observe(chains)
        if !chains.access.isEmpty && chains.access.contains(where: { $0.needsBody }) && Self.bodyFitsBuffer(head) {
            // A plugin reads the body (key-auth's key_in_body): hold it, run the chain at its end.
            self.state = .holdingBody
            // A client waiting for 100 Continue gets it now: the body is needed before any upstream.
            if head.expectsContinue { self.downstream.sendContinue() }
            return
        }
        self.forward(body: nil, ended: false)
    }

    /// Keeps the response, body and log handlers when there are any.
    private func observe(_ chains: PhaseChains) {
        guard !chains.response.isEmpty || !chains.body.isEmpty || !chains.log.isEmpty else { return }
        self.observers = chains
    }

    /// Whether a request has a body that an access handler may read: a declared length up to the
    /// buffer limit, or a chunked body (held until it ends or passes the limit).
    private static func bodyFitsBuffer(_ head: RequestHead) -> Bool {
        if head.chunked { return true }
        guard let length = head.contentLength else { return false }
        return length > 0 && length <= AccessRequest.bodyBufferLimit
    }

    // MARK: - From the client

    func clientBody(_ buffer: ByteBuffer) {
        switch self.state {
        case .proxying(let exchange):
            exchange.clientBody(buffer)
        case .holdingBody:
            self.heldParts.append(buffer)
            self.heldBytes += buffer.readableBytes
            // Too large to read: the plugins see no body, and the request goes on streaming.
            if self.heldBytes > AccessRequest.bodyBufferLimit { self.forward(body: nil, ended: false) }
        case .accessPending:
            self.heldParts.append(buffer)
            self.heldBytes += buffer.readableBytes
            // Waiting: hold the client back rather than buffer an unbounded body.
            if self.heldBytes > 256 * 1024 { self.downstream.pauseReads() }
        case .starting, .answered:
            break
        }
    }

    func clientEnd() {
        switch self.state {
        case .proxying(let exchange):
            exchange.clientEnd()
        case .holdingBody:
            var body: [UInt8] = []
            body.reserveCapacity(self.heldBytes)
            for part in self.heldParts { body += part.readableBytesView }
            self.forward(body: body, ended: true)
        case .accessPending:
            self.requestEnded = true
        case .starting, .answered:
            break
        }
    }

    /// The client went away: the exchange in flight ends with it (and never calls back), and a
    /// waiting access handler is let go.
    func clientClosed() {
        let before = self.state
        self.state = .answered
        switch before {
        case .proxying(let exchange): exchange.clientClosed()
        case .accessPending(let pending): pending.expire()
        default: break
        }
        self.accessTimer?.cancel()
        self.accessTimer = nil
    }

    func clientReadComplete() {
        if case .proxying(let exchange) = self.state { exchange.flushUpstream() }
    }

    func clientWritabilityChanged(isWritable: Bool) {
        if case .proxying(let exchange) = self.state { exchange.clientWritabilityChanged(isWritable: isWritable) }
    }

    /// The request broke the protocol mid-body (a bad chunk size) before any response went out:
    /// the exchange is dropped and the client told why; the connection closes.
    func failRequest(status: HTTPResponseStatus, message: String) {
        self.clientClosed()
        self.respond(status: status, message: message, close: true, errorPage: true)
    }

    // MARK: - Access and the exchange

    /// Runs the access phase, then hands the request to an exchange. `body`: the held body when
    /// it was read whole (all of it when `ended`); held parts are sent on either way.
    private func forward(body: [UInt8]?, ended: Bool) {
        guard let match = self.match else { return }
        self.state = .starting
        self.requestEnded = ended
        self.bodyRead = body != nil
        let chain = self.snapshot.chains[match.routeIndex].access
        guard !chain.isEmpty else {
            self.proxy(edits: nil)
            return
        }
        let head = self.head
        var context = AccessContext(
            request: AccessRequest(
                method: head.method.rawValue,
                host: self.connection.forwardedHost(head.host),
                port: self.connection.localPort,
                path: self.rawPath,
                headers: head.stringPairs(limit: self.connection.configuration.maxHeaderCount),
                query: self.queryStart.map { head.uri[head.uri.utf8.index(after: $0)...] },
                body: body,
                clientAddress: self.connection.clientAddress,
                routeID: self.routeID,
                serviceID: self.serviceID
            ),
            now: UnixTime.now()
        )
        self.accessCursor = 0
        self.runAccess(chain, from: 0, context: &context)
    }

    /// Runs the chain from `index` on: each handler proceeds, answers, or waits for I/O (the
    /// chain then resumes here, at the next handler, on this loop).
    private func runAccess(_ chain: [any AccessHandler], from index: Int, context: inout AccessContext) {
        var i = index
        while i < chain.count {
            let outcome = chain[i].access(&context, directory: self.snapshot)
            guard self.handle(outcome, chain: chain, at: i, context: &context) else { return }
            i += 1
        }
        self.consumer = context.authentication?.consumer
        self.plugins = context.plugins
        self.proxy(edits: context.edits)
    }

    /// What a handler's outcome means for the chain: true to go on with the next handler.
    private func handle(
        _ outcome: AccessOutcome,
        chain: [any AccessHandler],
        at index: Int,
        context: inout AccessContext
    ) -> Bool {
        switch outcome {
        case .proceed:
            return true
        case .respond(let response):
            self.consumer = context.authentication?.consumer
            self.plugins = context.plugins
            self.answer(response)
            return false
        case .pending(let pending):
            self.state = .accessPending(pending)
            self.accessCursor = index
            self.accessContext = context
            let loop = self.connection.pool.eventLoop
            let (seconds, attoseconds) = pending.timeout.components
            let timeout = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
            self.accessTimer = loop.assumeIsolated().scheduleTask(in: timeout) { pending.expire() }
            pending.whenSettled { self.accessResumed(pending, chain: chain) }
            return false
        }
    }

    /// A waiting handler's I/O completed (or timed out): its continuation runs, then the chain
    /// goes on.
    private func accessResumed(_ pending: PendingAccess, chain: [any AccessHandler]) {
        self.accessTimer?.cancel()
        self.accessTimer = nil
        guard case .accessPending(let current) = self.state, current === pending,
            var context = self.accessContext, let continuation = pending.takeContinuation()
        else { return }
        self.accessContext = nil
        self.state = .starting
        let index = self.accessCursor
        guard self.handle(continuation(&context), chain: chain, at: index, context: &context) else { return }
        self.runAccess(chain, from: index + 1, context: &context)
    }

    /// Hands the request, with the access phase's edits, to an exchange.
    private func proxy(edits: UpstreamEdits?) {
        guard let match = self.match, let plan = self.plan else { return }
        let head = self.head
        let held = self.heldParts
        self.heldParts = []
        self.heldBytes = 0
        let ended = self.requestEnded
        guard let service = plan.service else {
            self.respond(status: .serviceUnavailable, message: "no Service found with those values")
            return
        }
        // Target: a named upstream is balanced; anything else is the service's own host and port.
        let key: UpstreamKey
        if let rr = service.balancer {
            guard let peer = self.connection.balancerCursors.next(in: rr, upstream: service.host) else {
                self.respond(status: .serviceUnavailable, message: "failure to get a peer from the ring-balancer")
                return
            }
            key = UpstreamKey(host: peer.host, port: peer.port)
        } else {
            key = UpstreamKey(host: service.host, port: service.port)
        }

        let isUpgrade = head.asksUpgrade && HeaderRules.isWebSocketUpgrade(head)
        let upstreamPath = UpstreamPath.parts(
            servicePath: service.path,
            requestPath: self.path,
            matchedLength: match.matchedPathLength,
            stripPath: plan.stripPath
        )
        let forwardedPrefix = UpstreamPath.forwardedPrefix(
            requestPath: self.path,
            matchedLength: match.matchedPathLength,
            stripPath: plan.stripPath
        )
        // The client's Host with preserve_host; else one that depends on the target (and changes
        // with it when a retry moves to another target).
        let hostHeader = head.host
        let preservesHost = plan.preserveHost && hostHeader != nil
        let upstreamHost =
            preservesHost ? hostHeader! : service.upstreamHost(targetHost: key.host, targetPort: key.port)
        // A plugin that rewrote the body (hide_credentials with key_in_body) sends it with its length.
        let replacedBody = edits?.body
        let chunkedBody = replacedBody == nil && head.chunked
        let connection = self.connection
        var forwarding = HeaderRules.Forwarding(
            host: upstreamHost,
            clientAddress: connection.clientAddress,
            forwardedHost: connection.forwardedHost(hostHeader),
            forwardedPort: connection.localPortText,
            forwardedPath: self.rawPath,
            forwardedPrefix: forwardedPrefix,
            requestID: self.requestID,
            via: head.version == .http1_1
                ? connection.via
                : "\(head.version.major).\(head.version.minor) " + connection.configuration.serverToken,
            webSocketUpgrade: isUpgrade,
            chunkedBody: chunkedBody
        )
        forwarding.contentLength = replacedBody?.count
        let upstreamHead = UpstreamRequestHead(
            allocator: self.downstream.allocator,
            client: head,
            path: upstreamPath,
            queryStart: self.queryStart,
            query: edits?.query,
            forwarding: forwarding,
            edits: edits,
            hostFollowsTarget: !preservesHost && service.balancer != nil
        )
        // A request with nothing more to send (a GET) ends with its head.
        let endsWithHead = held.isEmpty && replacedBody == nil && (ended || head.isBodiless)
        let exchange = Exchange(
            pipeline: self,
            pool: connection.pool,
            upstreamHead: upstreamHead,
            chunkedBody: chunkedBody,
            // Answered already when the body was held for the access phase.
            expectContinue: !self.bodyRead && held.isEmpty && head.expectsContinue,
            webSocketUpgrade: isUpgrade,
            key: key,
            service: service,
            requestEnded: endsWithHead
        )
        self.state = .proxying(exchange)
        exchange.begin()
        if let replacedBody {
            if !replacedBody.isEmpty { exchange.clientBody(self.downstream.allocator.buffer(bytes: replacedBody)) }
        } else {
            for part in held { exchange.clientBody(part) }
        }
        if ended && !endsWithHead { exchange.clientEnd() }
    }

    // MARK: - Gateway answers

    /// A plugin's answer: Kong's error template around a message, or its own body.
    private func answer(_ response: LocalResponse) {
        switch response.body {
        case .message(let message):
            self.respond(
                status: HTTPResponseStatus(statusCode: response.status),
                message: message,
                headers: response.headers
            )
        case .bytes(let bytes):
            self.send(
                status: response.status,
                headers: response.headers,
                body: self.downstream.allocator.buffer(bytes: bytes)
            )
        case .none:
            self.send(status: response.status, headers: response.headers, body: nil)
        }
    }

    /// Answers with Kong's error body, negotiated on `Accept` (`errorPage`: one that Kong's error
    /// handler renders, text/plain by default). `close`: the connection closes after it.
    func respond(
        status: HTTPResponseStatus,
        message: String,
        headers: [(name: String, value: String)] = [],
        close: Bool = false,
        errorPage: Bool = false
    ) {
        let format = GatewayError.format(
            accept: self.head.first(name: "accept"),
            hasContentType: self.head.contains(name: "content-type"),
            errorPage: errorPage
        )
        let body = GatewayError.body(message, requestID: self.requestID, format: format)
        self.send(
            status: Int(status.code),
            headers: headers + [(name: "Content-Type", value: format.contentType)],
            body: self.downstream.allocator.buffer(string: body),
            close: close
        )
    }

    /// A gateway answer for bytes that never became a request (the parser refused them).
    static func answerUnreadable(
        status: HTTPResponseStatus,
        message: String,
        connection: ClientConnection,
        downstream: any Downstream
    ) {
        let requestID = connection.requestIDs.next()
        let format = GatewayError.format(accept: nil, hasContentType: false, errorPage: true)
        let body = GatewayError.body(message, requestID: requestID, format: format)
        downstream.sendHead(
            ResponseHeadOut(
                status: Int(status.code),
                kind: .local(headers: [(name: "Content-Type", value: format.contentType)], latencyMs: 0),
                requestID: requestID,
                contentLength: body.utf8.count,
                close: true
            )
        )
        var buffer = downstream.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        downstream.sendBody(buffer)
        downstream.sendEnd()
    }

    private func redirectToHTTPS(statusCode code: Int) {
        if code == 426 {
            self.respond(
                status: .upgradeRequired,
                message: "Please use HTTPS protocol",
                headers: [(name: "Connection", value: "Upgrade"), (name: "Upgrade", value: "TLS/1.2, HTTP/1.1")]
            )
            return
        }
        let host = ClientConnection.hostWithoutPort(self.head.host ?? "")
        self.send(
            status: code,
            headers: [(name: "Location", value: "https://\(host)\(self.head.uri)")],
            body: nil
        )
    }

    /// Sends a gateway answer: the response phase runs on it, then the log phase.
    private func send(
        status: Int,
        headers: [(name: String, value: String)],
        body: ByteBuffer?,
        close: Bool = false
    ) {
        self.state = .answered
        self.responseStarted = true
        let bodyBytes = body?.readableBytes ?? 0
        self.downstream.sendHead(
            ResponseHeadOut(
                status: status,
                kind: .local(headers: headers, latencyMs: Latency.milliseconds(from: self.start, to: .now())),
                requestID: self.requestID,
                edits: self.responseEdits(status: status, headers: HeaderFields(headers)),
                contentLength: bodyBytes,
                close: close
            )
        )
        if let body, bodyBytes > 0, self.head.method != .HEAD { self.downstream.sendBody(body) }
        self.log(status: status, upstreamLatencyMs: nil)
        self.downstream.sendEnd()
    }

    // MARK: - Response, body and log phases

    /// Runs the request's response handlers on a response head; nil when it has none.
    private func responseEdits(status: Int, headers: @autoclosure () -> HeaderFields) -> ResponseContext? {
        guard let response = self.observers?.response, !response.isEmpty else { return nil }
        var context = ResponseContext(
            status: status,
            requestID: self.requestID,
            consumer: self.consumer,
            headers: headers(),
            plugins: self.plugins
        )
        for handler in response { handler.response(&context) }
        self.plugins = context.plugins
        return context
    }

    /// Runs the request's log handlers, once.
    private func log(status: Int, upstreamLatencyMs: Int64?) {
        guard let log = self.observers?.log, !log.isEmpty, !self.logged else { return }
        self.logged = true
        var entry = LogEntry(
            requestID: self.requestID,
            method: self.head.method.rawValue,
            path: String(self.head.uri.prefix { $0 != "?" }),
            status: status,
            routeID: self.routeID,
            serviceID: self.serviceID,
            consumerID: self.consumer?.id,
            totalLatencyMs: Latency.milliseconds(from: self.start, to: .now()),
            upstreamLatencyMs: upstreamLatencyMs
        )
        entry.plugins = self.plugins
        for handler in log { handler.log(entry) }
    }

    // MARK: - From the exchange

    /// The upstream's response head: the response phase runs, the body handlers choose whether
    /// they change this body (then its length is not relayed), and the head goes to the client.
    func upstreamResponseHead(_ head: ResponseHead, upstreamLatencyMs: Int64, proxyLatencyMs: Int64) {
        self.responseStarted = true
        self.responseStatus = head.status
        self.upstreamLatencyMs = upstreamLatencyMs
        let fields = HeaderFields(bytes: head.bytes, fields: head.fields)
        var edits = self.responseEdits(status: head.status, headers: fields)
        if let handlers = self.observers?.body, !handlers.isEmpty, head.status != 101 {
            let response =
                edits
                ?? ResponseContext(
                    status: head.status,
                    requestID: self.requestID,
                    consumer: self.consumer,
                    headers: fields,
                    plugins: self.plugins
                )
            self.bodyFilters = handlers.compactMap { $0.bodyFilter(for: response) }
            if !self.bodyFilters.isEmpty {
                edits = response
                edits?.setHeader("Content-Length", nil)
            }
        }
        self.downstream.sendHead(
            ResponseHeadOut(
                status: head.status,
                kind: .proxied(
                    head,
                    upstreamLatencyMs: upstreamLatencyMs,
                    proxyLatencyMs: proxyLatencyMs,
                    clientAcceptsTrailers: self.head.asksTrailers
                ),
                requestID: self.requestID,
                edits: edits,
                contentLength: self.bodyFilters.isEmpty ? head.contentLength : nil
            )
        )
    }

    /// A piece of the upstream's body, through the body filters.
    func upstreamResponseBody(_ buffer: ByteBuffer) {
        guard !self.bodyFilters.isEmpty else {
            self.downstream.sendBody(buffer)
            return
        }
        var chunk = buffer
        for filter in self.bodyFilters { chunk = filter.filter(chunk, last: false) }
        if chunk.readableBytes > 0 { self.downstream.sendBody(chunk) }
    }

    /// The upstream's response ended: the body filters' last call, the log phase, the end.
    func upstreamResponseEnded() {
        if !self.bodyFilters.isEmpty {
            var chunk = ByteBuffer()
            for filter in self.bodyFilters { chunk = filter.filter(chunk, last: true) }
            if chunk.readableBytes > 0 { self.downstream.sendBody(chunk) }
        }
        self.state = .answered
        self.log(status: self.responseStatus, upstreamLatencyMs: self.upstreamLatencyMs)
        self.downstream.sendEnd()
    }

    /// The 101 of a WebSocket handshake went out: the connections become a byte relay.
    func upstreamUpgraded(_ upstream: any Channel) {
        self.state = .answered
        self.log(status: self.responseStatus, upstreamLatencyMs: self.upstreamLatencyMs)
        self.downstream.becomeTunnel(upstream: upstream)
    }

    /// The exchange failed before any response byte reached the client: the gateway answers.
    func upstreamFailed(status: HTTPResponseStatus, message: String) {
        self.respond(status: status, message: message, errorPage: true)
    }

    /// The exchange failed after part of the response went out: the client sees a cut connection.
    func upstreamFailedMidResponse() {
        self.state = .answered
        self.log(status: self.responseStatus, upstreamLatencyMs: self.upstreamLatencyMs)
        self.downstream.abort()
    }
}
