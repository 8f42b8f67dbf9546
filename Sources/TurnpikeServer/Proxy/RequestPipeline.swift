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
    let head: RequestHead
    let requestID: RequestID
    let start: NIODeadline
    let connection: ClientConnection
    /// Unowned, not weak: a weak reference gives the object a side table, which makes every
    /// retain of it slow. The connection drops the pipeline when it closes or the request ends.
    unowned let downstream: any Downstream
    /// The phases and the body's fate in each (`RequestPipelineStateMachine`: pure, unit-tested).
    var machine = RequestPipelineStateMachine(bodyBufferLimit: AccessRequest.bodyBufferLimit)
    /// The upstream exchange, once proxying; the waiting access handler, while one waits.
    var exchange: Exchange?
    var pending: PendingAccess?
    let snapshot: Snapshot

    // Set once routed.
    var match: RouteMatch?
    var plan: RoutePlan?
    var path: [UInt8] = []
    var rawPath: Substring = ""
    var queryStart: String.Index?
    /// The response, body and log handlers of the request (nil for routes without any: one check).
    var observers: PhaseChains?
    var routeID: EntityID?
    var serviceID: EntityID?
    /// The consumer the access phase identified (for the response and log phases).
    var consumer: Consumer?
    /// Kong's `kong.ctx`, from the access phase to the log phase.
    var plugins = PluginContext()
    /// Headers the access phase set for the client's response.
    var accessResponseHeaders: [(name: String, value: String)] = []
    var accessResponseHeaderNames: [String] = []
    /// Body held for the access phase (or while it waits).
    var heldParts: [ByteBuffer] = []
    /// The access chain in progress: the next handler to run and the context they share.
    var accessCursor = 0
    var accessContext: AccessContext?
    var accessTimer: Scheduled<Void>?
    /// The body filters of the current response (those that chose to change it).
    var bodyFilters: [any BodyFilter] = []
    /// A response handler replaced the upstream's answer (`ResponseContext.exit`): its body is
    /// read and dropped.
    var dropsUpstreamBody = false
    /// request-transformer sent a HEAD upstream for another method: the answer has no body, so
    /// its Content-Length is not relayed (the client gets an empty body, framed as such).
    var upstreamHeadOnly = false
    var logged = false
    /// What Kong's log serializer reports, gathered only when someone reads it (the access log).
    var logFacts: LogFactsGathered?
    /// The upstream's status and latency, for the log phase.
    var responseStatus = 0
    var upstreamLatencyMs: Int64?
    /// Part of a response went to the client.
    var responseStarted = false
    /// A cap on the body streamed upstream (request-size-limiting on a chunked body), and the
    /// bytes counted against it.
    var bodyLimit: UpstreamEdits.BodyLimit?
    var bodyCounted: Int64 = 0

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
        if configuration.accessLog != nil { self.startLogFacts() }
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
            headers: routeHeaders,
            isTLS: self.connection.isTLS,
            sni: self.connection.sni
        )
        guard let match = snapshot.routes.match(request, scratch: &self.connection.routeScratch) else {
            // Kong answers the router's 404 before any access handler runs (`Kong.access` ->
            // `runloop.access.before`, kong/runloop/handler.lua): a global key-auth never turns it
            // into a 401. Global plugins still see the 404 in their response and log phases.
            self.observe(snapshot.globalChains)
            self.respond(status: .notFound, message: "no Route matched with those values")
            return
        }
        let plan = snapshot.routePlans[match.routeIndex]
        // https-only routes over plain HTTP (kong/runloop/handler.lua: on the request's scheme).
        if !plan.acceptsHTTP && !self.connection.isTLS {
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
        if chains.accessNeedsBody && Self.bodyFitsBuffer(head) {
            // A plugin reads the body (key-auth's key_in_body): hold it, run the chain at its end.
            self.machine.holdBody()
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
        self.logFacts?.requestBodyBytes += buffer.readableBytes
        switch self.machine.bodyPart(bytes: buffer.readableBytes) {
        case .send:
            guard self.withinBodyLimit(buffer.readableBytes) else { return }
            self.exchange?.clientBody(buffer)
        case .hold:
            self.heldParts.append(buffer)
        case .holdAndPauseReads:
            // Waiting: hold the client back rather than buffer an unbounded body.
            self.heldParts.append(buffer)
            self.downstream.pauseReads()
        case .holdAndRunAccessUnread:
            // Too large to read: the plugins see no body, and the request goes on streaming.
            self.heldParts.append(buffer)
            self.forward(body: nil, ended: false)
        case .drop:
            break
        }
    }

    func clientEnd() {
        switch self.machine.requestEnd() {
        case .send:
            self.exchange?.clientEnd()
        case .runAccessWithBody:
            var body: [UInt8] = []
            body.reserveCapacity(self.machine.heldBytes)
            for part in self.heldParts { body += part.readableBytesView }
            self.forward(body: body, ended: true)
        case .record, .none:
            break
        }
    }

    /// The client went away: the exchange in flight ends with it (and never calls back), a
    /// waiting access handler is let go, and the log phase records what the client got (0 when
    /// nothing), as nginx finalizes an aborted request.
    func clientClosed() {
        if self.machine.phase == .answered { return }
        self.dropInFlight()
        self.log(status: self.responseStarted ? self.responseStatus : 0, upstreamLatencyMs: self.upstreamLatencyMs)
    }

    /// Ends what is in flight for the request (its exchange, a waiting access handler).
    func dropInFlight() {
        _ = self.machine.answered()
        // A waiting access phase's state still reaches the log phase.
        if let context = self.accessContext {
            self.accessContext = nil
            self.adoptAccessState(context)
        }
        self.exchange?.clientClosed()
        self.pending?.expire()
        self.pending = nil
        self.accessTimer?.cancel()
        self.accessTimer = nil
    }

    func clientReadComplete() {
        self.exchange?.flushUpstream()
    }

    func clientWritabilityChanged(isWritable: Bool) {
        self.exchange?.clientWritabilityChanged(isWritable: isWritable)
    }

    /// Counts body bytes going upstream against `bodyLimit`; past it, the upstream request is
    /// dropped and the client gets the limit's answer (or, if a response already started, a cut
    /// connection), and false is returned. The connection closes: the rest of the body is unread.
    func withinBodyLimit(_ bytes: Int) -> Bool {
        guard let limit = self.bodyLimit else { return true }
        self.bodyCounted += Int64(bytes)
        guard self.bodyCounted > limit.maxBytes else { return true }
        self.bodyLimit = nil
        self.dropInFlight()
        if self.responseStarted {
            self.log(status: self.responseStatus, upstreamLatencyMs: self.upstreamLatencyMs)
            self.downstream.abort()
        } else {
            self.respond(status: HTTPResponseStatus(statusCode: limit.status), message: limit.message, close: true)
        }
        return false
    }

    /// The request broke the protocol mid-body (a bad chunk size) before any response went out:
    /// the exchange is dropped and the client told why; the connection closes.
    func failRequest(status: HTTPResponseStatus, message: String) {
        self.dropInFlight()
        self.respond(status: status, message: message, close: true, errorPage: true)
    }
}
