import Logging
import NIOCore
import NIOHTTP1
import TurnpikeEngine
import TurnpikeModel
import TurnpikePlugins
import TurnpikeRouter

/// One client connection of the proxy: routes each request with the snapshot of its loop, streams
/// it to an upstream connection of the same loop and streams the answer back.
///
/// Loop-confined. One request at a time: a pipelined request that arrives while the current one
/// is answered waits as bytes in `input` (and reads pause) until the connection is idle. Requests
/// are parsed here (`RequestParser`), not by NIO's decoder. State lives in `state`; transitions check the prior state.
final class ProxyHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State {
        /// Between requests.
        case idle
        /// A request is being proxied.
        case proxying(Exchange)
        /// A plugin reads the body: it is held until complete (or too large), then the request
        /// goes on.
        case holdingBody(HeldBody)
        /// A local response was sent (or is being sent); the rest of the request body is dropped.
        case discardingBody(closeAfter: Bool)
        /// The connection is closing; everything is dropped.
        case closing
    }

    private let slot: NIOLoopBoundBox<Snapshot>
    private let pool: UpstreamPool
    private let balancerCursors: BalancerCursors
    private let configuration: ProxyConfiguration
    private let logger: Logger
    private var state = State.idle
    private var context: ChannelHandlerContext?
    private var random: RequestIDGenerator
    private var clientAddress = "unknown"
    private var localPort = 0
    private var readGate = ReadGate()
    let via: String
    /// When the current request's head arrived (for X-Kong-Response-Latency).
    private var requestStart = NIODeadline.now()
    /// The request parser (NIO's decoder is not in the pipeline) and the bytes it has not read:
    /// a pipelined request waits here, as bytes, while the one before it is answered.
    private var parser: RequestParser
    private var input: ByteBuffer?
    /// Reused between reads so collecting parser events allocates nothing.
    private var events: [RequestParser.Event] = []
    /// Set by graceful shutdown: close as soon as the connection is idle.
    private var closeWhenIdle = false
    /// The `Date` header value of this loop.
    let dates: HTTPDateCache
    /// The response and log handlers of the request being answered; nil for routes without any
    /// (the usual case, which then costs one check).
    private var observers: RequestObservers?
    /// This loop's connection counters, and what this connection counts as.
    private let counters: ProxyStatistics.Counters
    private var activity = ProxyStatistics.Activity.waiting

    init(
        slot: NIOLoopBoundBox<Snapshot>,
        pool: UpstreamPool,
        balancerCursors: BalancerCursors,
        dates: HTTPDateCache,
        counters: ProxyStatistics.Counters,
        configuration: ProxyConfiguration,
        logger: Logger
    ) {
        self.dates = dates
        self.counters = counters
        self.slot = slot
        self.pool = pool
        self.balancerCursors = balancerCursors
        self.configuration = configuration
        self.logger = logger
        self.random = RequestIDGenerator()
        self.via = "1.1 " + configuration.serverToken
        self.parser = RequestParser(
            limits: RequestParser.Limits(
                maxURIBytes: configuration.maxURIBytes,
                maxHeaderLineBytes: configuration.maxHeaderLineBytes,
                maxHeaderSectionBytes: configuration.maxHeaderBytes
            )
        )
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.allocator = context.channel.allocator
        if let remote = context.channel.remoteAddress { self.clientAddress = remote.ipAddress ?? "unknown" }
        self.localPort = context.channel.localAddress?.port ?? 0
        self.localPortText = String(self.localPort)
        self.armIdleTimer(in: self.configuration.keepAliveTimeout)
        // Counted until the socket closes, also after it became a tunnel (the handler leaves then).
        self.counters.opened()
        context.channel.closeFuture.assumeIsolated().whenComplete { _ in
            self.counters.closed(in: self.activity)
        }
    }

    /// Moves this connection between nginx's reading / writing / waiting counts.
    private func setActivity(_ next: ProxyStatistics.Activity) {
        self.counters.moved(from: self.activity, to: next)
        self.activity = next
    }

    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        // Becoming a tunnel: bytes held after the upgrade request go on, and a read held back
        // for them is issued.
        if let input = self.input, input.readableBytes > 0 {
            self.input = nil
            context.fireChannelRead(NIOAny(input))
        }
        self.input = nil
        if self.readGate.isPaused {
            self.readGate.resume(context: nil)
            context.read()
        }
        context.leavePipeline(removalToken: removalToken)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.idleTimer?.cancel()
        self.idleTimer = nil
        self.context = nil
    }

    // MARK: - Idle connections

    /// One timer per connection: reads only note their time; when the timer fires early it re-arms
    /// for the rest (cheaper than a pipeline handler that every read passes through).
    private var idleTimer: Scheduled<Void>?
    private var lastClientRead = NIODeadline.now()
    /// The clock as read at the start of the current `channelRead` (nil outside one).
    private var readClock: NIODeadline?
    private(set) var localPortText = "0"

    private func armIdleTimer(in delay: TimeAmount) {
        guard let context = self.context else { return }
        self.idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [unowned self] in
            // Cancelled in handlerRemoved, so it never outlives the handler.
            self.idleTimerFired()
        }
    }

    private func idleTimerFired() {
        self.idleTimer = nil
        let timeout = self.configuration.keepAliveTimeout
        let idle = NIODeadline.now() - self.lastClientRead
        // Keep-alive or head timeout; a request in flight waits for its upstream instead.
        if idle >= timeout, self.isIdle || self.isDiscarding || self.isHoldingBody || self.isSendingBody {
            self.closeClient()
            return
        }
        self.armIdleTimer(in: idle >= timeout ? timeout : timeout - idle)
    }

    /// A request body is still coming from the client (nginx's client_body_timeout applies), and
    /// the gateway is not the one holding it back (paused reads wait for the upstream, whose
    /// write_timeout applies instead).
    private var isSendingBody: Bool {
        if case .proxying(let exchange) = self.state { return !exchange.clientEnded && !self.readGate.isPaused }
        return false
    }

    private var isHoldingBody: Bool {
        if case .holdingBody = self.state { return true }
        return false
    }

    private var isDiscarding: Bool {
        if case .discardingBody = self.state { return true }
        return false
    }

    // MARK: - Client side

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = self.unwrapInboundIn(data)
        if case .closing = self.state { return }
        // One clock read per socket read: the idle timers and the requests this read starts share it.
        let now = NIODeadline.now()
        self.lastClientRead = now
        self.readClock = now
        defer { self.readClock = nil }
        if var input = self.input {
            self.input = nil
            input.writeBuffer(&buffer)
            buffer = input
        }
        self.parse(buffer)
    }

    /// Parses and processes `buffer` up to where the connection must wait: the end of the bytes,
    /// or a next request while this one is answered (the rest is kept in `input`, reads pause).
    private func parse(_ buffer: ByteBuffer) {
        var buffer = buffer
        while true {
            // Bytes with no request in progress: a head is arriving.
            if self.activity == .waiting && self.isIdle && buffer.readableBytes > 0 { self.setActivity(.reading) }
            // Events are processed after the parser returns: processing one may answer the
            // request and start the next, which must find the parser at rest.
            var events = self.events
            self.events = []
            var failure: HTTPWireError?
            do {
                try self.parser.feed(&buffer) { events.append($0) }
            } catch {
                failure = error as? HTTPWireError ?? .invalid("\(error)")
            }
            for event in events { self.process(event) }
            events.removeAll(keepingCapacity: true)
            self.events = events
            if let failure {
                self.requestFailed(failure)
                return
            }
            if buffer.readableBytes == 0 { return }
            if case .closing = self.state { return }
            // Idle again (the request was answered while its bytes were parsed): go on.
            if self.isIdle && self.parser.isAtMessageBoundary {
                self.parser.next()
                continue
            }
            self.input = buffer
            self.pauseClientReads()
            return
        }
    }

    private var isIdle: Bool {
        if case .idle = self.state { return true }
        return false
    }

    /// The connection may take its next request: parse what waited.
    private func becameIdle() {
        guard self.isIdle else { return }
        self.setActivity(.waiting)
        if self.closeWhenIdle {
            self.closeClient()
            return
        }
        // A message ended (or an upgrade was declined): the parser may read the next one.
        self.parser.next()
        if let input = self.input {
            self.input = nil
            self.parse(input)
        }
        if self.input == nil { self.resumeClientReads() }
    }

    /// A request the parser refused: answered once, then the connection closes (RFC 9112 §2.2,
    /// §11.2).
    private func requestFailed(_ failure: HTTPWireError) {
        let status: HTTPResponseStatus
        let message: String
        switch failure {
        case .uriTooLong:
            (status, message) = (.uriTooLong, "URI too long")
        case .headTooLarge:
            // nginx's 494, which Kong's error handler answers as 400 (kong/error_handlers.lua).
            (status, message) = (.badRequest, "Request header or cookie too large")
        case .unsupportedTransferEncoding:
            (status, message) = (.notImplemented, "Not implemented")
        case .invalid:
            (status, message) = (.badRequest, "Bad request")
        }
        self.input = nil
        switch self.state {
        case .idle:
            // A request nginx would have counted, answered by the gateway.
            self.counters.requests += 1
            self.setActivity(.writing)
            self.state = .closing
            self.sendLocal(
                status: status,
                message: message,
                head: nil,
                requestID: self.random.next(),
                closeAfter: true,
                errorPage: true
            )
        case .discardingBody:
            // This request was answered already: a second answer would be taken for the next one.
            self.closeClient()
        case .holdingBody(let held):
            self.state = .closing
            self.sendLocal(
                status: status,
                message: message,
                head: held.routed.head,
                requestID: held.routed.requestID,
                closeAfter: true,
                errorPage: true
            )
        case .proxying(let exchange) where !exchange.responseStarted:
            // A framing error in the body (bad chunk size): the request is void, say so.
            exchange.abort()
            self.state = .closing
            self.sendLocal(
                status: status,
                message: message,
                head: exchange.clientHead,
                requestID: exchange.requestID,
                closeAfter: true,
                errorPage: true
            )
        case .proxying, .closing:
            self.closeClient()
        }
    }

    private func process(_ part: RequestParser.Event) {
        guard let context = self.context else { return }
        switch part {
        case .head(let head):
            self.receivedHead(head, context: context)
        case .body(let buffer):
            switch self.state {
            case .proxying(let exchange):
                exchange.clientBody(buffer)
            case .holdingBody(let held):
                self.heldBodyPart(held, buffer)
            case .discardingBody, .closing, .idle:
                break
            }
        case .end:
            switch self.state {
            case .proxying(let exchange):
                exchange.clientEnd()
            case .holdingBody(let held):
                self.heldBodyEnded(held)
            case .discardingBody(let closeAfter):
                self.state = .idle
                if closeAfter {
                    self.closeClient()
                } else {
                    self.becameIdle()
                }
            case .closing, .idle:
                break
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .proxying(let exchange) = self.state { exchange.flushUpstream() }
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .proxying(let exchange) = self.state {
            exchange.clientWritabilityChanged(isWritable: context.channel.isWritable)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .proxying(let exchange) = self.state { exchange.clientClosed() }
        self.state = .closing
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.debug("client connection error", metadata: ["error": "\(error)"])
        self.closeClient()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // Graceful shutdown: idle connections close now, busy ones after their response.
            self.closeWhenIdle = true
            if self.isIdle && self.input == nil { self.closeClient() }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func read(context: ChannelHandlerContext) {
        self.readGate.read(context: context)
    }

    func pauseClientReads() {
        self.readGate.pause()
    }

    func resumeClientReads() {
        // A waiting pipelined request keeps reads paused until it has been answered.
        guard self.input == nil else { return }
        // Time spent held back by the gateway does not count as the client being idle.
        if self.readGate.isPaused { self.lastClientRead = .now() }
        self.readGate.resume(context: self.context)
    }

    // MARK: - A new request

    private func receivedHead(_ head: RequestHead, context: ChannelHandlerContext) {
        guard case .idle = self.state else {
            self.closeClient()
            return
        }
        self.counters.requests += 1
        self.setActivity(.writing)
        let requestID = self.random.next()
        // A pipelined request parsed after the previous answer reads the clock itself.
        let start = self.readClock ?? NIODeadline.now()
        self.requestStart = start
        self.observers = nil

        // Limits the HTTP parser does not know (kong-format.md §5.11; RFC 9112 §3.2 for Host).
        if head.uri.utf8.count > self.configuration.maxURIBytes {
            self.respondLocally(
                status: .uriTooLong,
                message: "URI too long",
                head: head,
                requestID: requestID,
                forceClose: true,
                errorPage: true
            )
            return
        }
        // The parser's one pass over the headers checked their sizes and found Host and framing.
        let hostHeader = head.host
        let uri = head.uri
        let queryStart = uri.utf8.firstIndex(of: UInt8(ascii: "?"))
        let rawPath = queryStart.map { uri[..<$0] } ?? Substring(uri)
        // One Host on HTTP/1.1 (RFC 9112 §3.2) and an origin-form target.
        let badHost = head.hostCount > 1 || (head.hostCount == 0 && head.version.major == 1 && head.version.minor >= 1)
        guard !badHost, rawPath.utf8.first == UInt8(ascii: "/") else {
            self.respondLocally(
                status: .badRequest,
                message: "Bad request",
                head: head,
                requestID: requestID,
                forceClose: true,
                errorPage: true
            )
            return
        }
        // nginx refuses TRACE once the head is read, before any Kong phase
        // (ngx_http_process_request_header); Kong's error page renders the 405.
        if head.method == .TRACE {
            self.respondLocally(
                status: .methodNotAllowed,
                message: "Method not allowed",
                head: head,
                requestID: requestID,
                errorPage: true
            )
            return
        }

        let snapshot = self.slot.value
        let path = PathNormalizer.normalize(Array(rawPath.utf8))
        var routeHeaders: [(name: String, value: String)] = []
        if snapshot.routes.needsHeaders {
            routeHeaders = head.stringPairs(limit: self.configuration.maxHeaderCount)
        }
        let request = RouteRequest(
            method: head.method.rawValue,
            host: hostHeader,
            port: self.localPort,
            path: path,
            headers: routeHeaders
        )
        let rawQuery = queryStart.map { uri[uri.utf8.index(after: $0)...] }
        guard let match = snapshot.routes.match(request) else {
            // Kong answers the router's 404 before any access handler runs (`Kong.access` ->
            // `runloop.access.before`, kong/runloop/handler.lua): a global key-auth never turns it
            // into a 401. Global plugins still see the 404 in their response and log phases.
            self.observers = RequestObservers(
                snapshot.globalChains,
                head: head,
                requestID: requestID,
                start: start,
                routeID: nil,
                serviceID: nil
            )
            self.respondLocally(
                status: .notFound,
                message: "no Route matched with those values",
                head: head,
                requestID: requestID
            )
            return
        }
        let plan = snapshot.routePlans[match.routeIndex]
        if !plan.acceptsHTTP {
            self.redirectToHTTPS(
                statusCode: plan.httpsRedirectStatusCode,
                head: head,
                host: hostHeader,
                requestID: requestID
            )
            return
        }
        let routed = RoutedRequest(
            head: head,
            requestID: requestID,
            start: start,
            snapshot: snapshot,
            match: match,
            plan: plan,
            rawPath: rawPath,
            path: path,
            queryStart: queryStart,
            rawQuery: rawQuery
        )
        let chains = snapshot.chains[match.routeIndex]
        self.observers = RequestObservers(
            chains,
            head: head,
            requestID: requestID,
            start: start,
            routeID: snapshot.model.routes[match.routeIndex].id,
            serviceID: plan.service?.id
        )
        let chain = chains.access
        if !chain.isEmpty && chain.contains(where: { $0.needsBody }) && self.bodyFitsBuffer(head) {
            // A plugin reads the body (key-auth's key_in_body): hold it, run the chain at its end.
            self.state = .holdingBody(HeldBody(routed))
            // A client waiting for 100 Continue gets it now: the body is needed before any upstream.
            if head.expectsContinue { self.sendContinue(version: head.version) }
            return
        }
        self.forward(routed, body: nil, held: [], ended: false)
    }

    /// Whether a request has a body that an access handler may read: a declared length up to the
    /// buffer limit, or a chunked body (held until it ends or passes the limit).
    private func bodyFitsBuffer(_ head: RequestHead) -> Bool {
        if head.chunked { return true }
        guard let length = head.contentLength else { return false }
        return length > 0 && length <= AccessRequest.bodyBufferLimit
    }

    /// Part of a body held for the access phase.
    private func heldBodyPart(_ held: HeldBody, _ buffer: ByteBuffer) {
        held.parts.append(buffer)
        held.bytes += buffer.readableBytes
        if held.bytes > AccessRequest.bodyBufferLimit {
            // Too large to read: the plugins see no body, and the request goes on streaming.
            self.forward(held.routed, body: nil, held: held.parts, ended: false)
        }
    }

    private func heldBodyEnded(_ held: HeldBody) {
        var body: [UInt8] = []
        body.reserveCapacity(held.bytes)
        for part in held.parts { body += part.readableBytesView }
        self.forward(held.routed, body: body, held: held.parts, ended: true)
    }

    /// Runs the access phase and hands the request to an exchange. `held` is body already read
    /// (all of it when `ended`).
    private func forward(_ routed: RoutedRequest, body: [UInt8]?, held: [ByteBuffer], ended: Bool) {
        guard let context = self.context else { return }
        self.state = .idle
        let head = routed.head
        let requestID = routed.requestID
        let snapshot = routed.snapshot
        let match = routed.match
        let plan = routed.plan
        let hostHeader = head.host
        let path = routed.path
        let rawPath = routed.rawPath
        let queryStart = routed.queryStart
        var edits: UpstreamEdits?
        let chain = snapshot.chains[match.routeIndex].access
        if !chain.isEmpty {
            switch self.runAccess(
                chain,
                head: head,
                query: routed.rawQuery,
                body: body,
                snapshot: snapshot,
                requestID: requestID
            ) {
            case .respond:
                if ended { self.localResponseRequestEnded() }
                return
            case .proceed(let e): edits = e
            }
        }
        guard let service = plan.service else {
            self.respondLocally(
                status: .serviceUnavailable,
                message: "no Service found with those values",
                head: head,
                requestID: requestID
            )
            if ended { self.localResponseRequestEnded() }
            return
        }

        // Target: a named upstream is balanced; anything else is the service's own host and port.
        let key: UpstreamKey
        if let rr = service.balancer {
            guard let peer = self.balancerCursors.next(in: rr, upstream: service.host) else {
                self.respondLocally(
                    status: .serviceUnavailable,
                    message: "failure to get a peer from the ring-balancer",
                    head: head,
                    requestID: requestID
                )
                if ended { self.localResponseRequestEnded() }
                return
            }
            key = UpstreamKey(host: peer.host, port: peer.port)
        } else {
            key = UpstreamKey(host: service.host, port: service.port)
        }

        let isUpgrade = head.asksUpgrade && HeaderRules.isWebSocketUpgrade(head)
        let upstreamPath = UpstreamPath.parts(
            servicePath: service.path,
            requestPath: path,
            matchedLength: match.matchedPathLength,
            stripPath: plan.stripPath
        )
        let forwardedPrefix = UpstreamPath.forwardedPrefix(
            requestPath: path,
            matchedLength: match.matchedPathLength,
            stripPath: plan.stripPath
        )

        // The client's Host with preserve_host; else one that depends on the target (and changes
        // with it when a retry moves to another target).
        let preservesHost = plan.preserveHost && hostHeader != nil
        let upstreamHost =
            preservesHost ? hostHeader! : service.upstreamHost(targetHost: key.host, targetPort: key.port)
        // A plugin that rewrote the body (hide_credentials with key_in_body) sends it with its length.
        let replacedBody = edits?.body
        let chunkedBody = replacedBody == nil && head.chunked
        var forwarding = HeaderRules.Forwarding(
            host: upstreamHost,
            clientAddress: self.clientAddress,
            forwardedHost: self.cachedForwardedHost(hostHeader),
            forwardedPort: self.localPortText,
            forwardedPath: rawPath,
            forwardedPrefix: forwardedPrefix,
            requestID: requestID,
            via: head.version == .http1_1
                ? self.via : "\(head.version.major).\(head.version.minor) " + self.configuration.serverToken,
            webSocketUpgrade: isUpgrade,
            chunkedBody: chunkedBody
        )
        forwarding.contentLength = replacedBody?.count
        let upstreamHead = UpstreamRequestHead(
            allocator: self.allocator,
            client: head,
            path: upstreamPath,
            queryStart: queryStart,
            query: edits?.query,
            forwarding: forwarding,
            edits: edits,
            hostFollowsTarget: !preservesHost && service.balancer != nil
        )
        // Answered already when the body was held for the access phase.
        let expectContinue = body == nil && held.isEmpty && head.expectsContinue

        let exchange = Exchange(
            handler: self,
            pool: self.pool,
            clientHead: head,
            upstreamHead: upstreamHead,
            chunkedBody: chunkedBody,
            expectContinue: expectContinue,
            webSocketUpgrade: isUpgrade,
            key: key,
            service: service,
            requestID: requestID,
            start: routed.start,
            configuration: self.configuration,
            logger: self.logger
        )
        self.state = .proxying(exchange)
        // A request with nothing more to send (a GET) ends with its head.
        let endsWithHead = held.isEmpty && replacedBody == nil && (ended || head.isBodiless)
        exchange.begin(requestEnded: endsWithHead)
        if let replacedBody {
            if !replacedBody.isEmpty { exchange.clientBody(context.channel.allocator.buffer(bytes: replacedBody)) }
        } else {
            for part in held { exchange.clientBody(part) }
        }
        if ended && !endsWithHead { exchange.clientEnd() }
    }

    /// A local answer went out for a request whose body had already been read in full.
    private func localResponseRequestEnded() {
        guard case .discardingBody(let closeAfter) = self.state else { return }
        self.state = .idle
        if closeAfter {
            self.closeClient()
        } else {
            self.becameIdle()
        }
    }

    enum AccessResult {
        case proceed(UpstreamEdits)
        case respond
    }

    /// Runs a chain's access phase; a plugin's answer is sent here (Kong's error body, its headers).
    private func runAccess(
        _ chain: [any AccessHandler],
        head: RequestHead,
        query: Substring?,
        body: [UInt8]? = nil,
        snapshot: Snapshot,
        requestID: String
    ) -> AccessResult {
        let headers = head.stringPairs(limit: self.configuration.maxHeaderCount)
        var context = AccessContext(
            request: AccessRequest(method: head.method.rawValue, headers: headers, query: query, body: body),
            now: UnixTime.now()
        )
        defer { self.observers?.consumer = context.authentication?.consumer }
        for handler in chain {
            if case .respond(let response) = handler.access(&context, directory: snapshot) {
                self.observers?.consumer = context.authentication?.consumer
                var extra = HTTPHeaders()
                for (name, value) in response.headers.sorted(by: { $0.key < $1.key }) {
                    extra.add(name: name, value: value)
                }
                self.respondLocally(
                    status: HTTPResponseStatus(statusCode: response.status),
                    message: response.message,
                    head: head,
                    requestID: requestID,
                    extraHeaders: extra
                )
                return .respond
            }
        }
        return .proceed(context.edits)
    }

    private func redirectToHTTPS(statusCode code: Int, head: RequestHead, host: String?, requestID: String) {
        if code == 426 {
            var extra = HTTPHeaders()
            extra.add(name: "Connection", value: "Upgrade")
            extra.add(name: "Upgrade", value: "TLS/1.2, HTTP/1.1")
            self.respondLocally(
                status: .upgradeRequired,
                message: "Please use HTTPS protocol",
                head: head,
                requestID: requestID,
                extraHeaders: extra
            )
            return
        }
        var extra = HTTPHeaders()
        extra.add(name: "Location", value: "https://\(Self.hostWithoutPort(host ?? ""))\(head.uri)")
        self.sendRaw(
            status: HTTPResponseStatus(statusCode: code),
            headers: extra,
            body: nil,
            head: head,
            requestID: requestID
        )
    }

    // MARK: - Local responses

    /// Answers the current request from the gateway with Kong's error body.
    func respondLocally(
        status: HTTPResponseStatus,
        message: String,
        head: RequestHead,
        requestID: String,
        forceClose: Bool = false,
        extraHeaders: HTTPHeaders = HTTPHeaders(),
        errorPage: Bool = false
    ) {
        let closeAfter = forceClose || !head.isKeepAlive
        self.state = .discardingBody(closeAfter: closeAfter)
        self.sendLocal(
            status: status,
            message: message,
            head: head,
            requestID: requestID,
            closeAfter: closeAfter,
            extraHeaders: extraHeaders,
            errorPage: errorPage
        )
    }

    /// Writes a gateway-made response (Kong's error templates, negotiated on Accept).
    func sendLocal(
        status: HTTPResponseStatus,
        message: String,
        head: RequestHead?,
        requestID: String,
        closeAfter: Bool,
        extraHeaders: HTTPHeaders = HTTPHeaders(),
        errorPage: Bool = false
    ) {
        let accept = head?.first(name: "accept")
        let hasContentType = head?.contains(name: "content-type") ?? false
        let format = GatewayError.format(accept: accept, hasContentType: hasContentType, errorPage: errorPage)
        let text = GatewayError.body(message, requestID: requestID, format: format)
        var headers = extraHeaders
        headers.add(name: "Content-Type", value: format.contentType)
        self.sendRaw(
            status: status,
            headers: headers,
            body: text,
            head: head,
            requestID: requestID,
            closeAfter: closeAfter
        )
    }

    private func sendRaw(
        status: HTTPResponseStatus,
        headers extra: HTTPHeaders,
        body: String?,
        head: RequestHead?,
        requestID: String,
        closeAfter: Bool? = nil
    ) {
        guard let context = self.context else { return }
        let close = closeAfter ?? !(head?.isKeepAlive ?? false)
        if case .idle = self.state { self.state = .discardingBody(closeAfter: close) }
        let bodyBytes = body?.utf8.count ?? 0
        let latency = (NIODeadline.now() - self.requestStart).nanoseconds / 1_000_000
        let edits = self.responseEdits(status: Int(status.code), requestID: requestID)
        var buffer = HeadWriter.write(allocator: context.channel.allocator, capacity: 256 + bodyBytes) { writer in
            writer.statusLine(version: head?.version ?? .http1_1, status: status)
            if !(edits?.removes("Date") ?? false) { writer.header("Date", self.dates.now) }
            for (name, value) in extra where !(edits?.removes(name) ?? false) {
                writer.header(name, HeadWriter.sanitized(value))
            }
            writer.header("Content-Length", Int64(bodyBytes))
            if !(edits?.removes("Server") ?? false) { writer.header("Server", self.configuration.serverToken) }
            if !(edits?.removes("X-Kong-Response-Latency") ?? false) {
                writer.header("X-Kong-Response-Latency", latency)
            }
            if !(edits?.removes("X-Kong-Request-Id") ?? false) { writer.header("X-Kong-Request-Id", requestID) }
            if let edits { HeaderRules.writeEdits(edits, into: &writer) }
            if close {
                writer.header("Connection", "close")
            } else if let head, head.version == .http1_0 {
                writer.header("Connection", "keep-alive")
            }
        }
        if let body, head?.method != .HEAD { buffer.writeString(body) }
        self.logRequest(status: Int(status.code), upstreamLatencyMs: nil)
        if close {
            context.writeAndFlush(self.wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in
                self.closeClient()
            }
        } else {
            context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
        }
    }

    // MARK: - Response and log phases

    /// Runs the request's response handlers for a response with `status`; nil when it has none.
    func responseEdits(status: Int, requestID: String) -> ResponseContext? {
        guard let observers = self.observers, !observers.response.isEmpty else { return nil }
        var context = ResponseContext(status: status, requestID: requestID, consumer: observers.consumer)
        for handler in observers.response { handler.response(&context) }
        return context
    }

    /// The request's body handlers (empty for most routes).
    var bodyHandlers: [any BodyHandler] { self.observers?.body ?? [] }

    /// Runs the request's log handlers, once.
    private func logRequest(status: Int, upstreamLatencyMs: Int64?) {
        guard let observers = self.observers else { return }
        self.observers = nil
        guard !observers.log.isEmpty else { return }
        let entry = LogEntry(
            requestID: observers.requestID,
            method: observers.method,
            path: observers.path,
            status: status,
            routeID: observers.routeID,
            serviceID: observers.serviceID,
            consumerID: observers.consumer?.id,
            totalLatencyMs: (NIODeadline.now() - observers.start).nanoseconds / 1_000_000,
            upstreamLatencyMs: upstreamLatencyMs
        )
        for handler in observers.log { handler.log(entry) }
    }

    // MARK: - Called by the exchange

    /// The channel's allocator, noted once (reaching it through the context walks the pipeline).
    private(set) var allocator = ByteBufferAllocator()

    func writeToClient(_ buffer: ByteBuffer) {
        self.context?.write(self.wrapOutboundOut(buffer), promise: nil)
    }

    /// Writes one chunk of a chunked response body.
    func writeChunkToClient(_ buffer: ByteBuffer) {
        guard let context = self.context else { return }
        ChunkedFraming.write(buffer, allocator: context.channel.allocator) {
            context.write(self.wrapOutboundOut($0), promise: nil)
        }
    }

    func flushClient() {
        self.context?.flush()
    }

    /// `100 Continue`, for a client that waits for it before sending its body.
    func sendContinue(version: HTTPVersion) {
        self.writeToClient(
            HeadWriter.write(allocator: self.allocator, capacity: 32) {
                $0.statusLine(version: version, status: .continue)
            }
        )
        self.flushClient()
    }

    /// The upstream accepted a WebSocket upgrade: relay raw bytes from now on.
    func switchToTunnel(upstream: any Channel) {
        guard let context = self.context else { return }
        self.state = .closing
        do {
            try Tunnel.splice(client: context.channel, upstream: upstream)
        } catch {
            self.logger.debug("could not splice the upgraded connections", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            upstream.close(promise: nil)
        }
    }

    var clientIsWritable: Bool { self.context?.channel.isWritable ?? false }

    /// The exchange ended; the connection takes the next request or closes. With `writeEnd`, the
    /// response's end is written here, after the state change: writing it lets NIO's pipelining
    /// handler deliver the next request at once, re-entrantly.
    func exchangeFinished(
        _ exchange: Exchange,
        closeClient: Bool,
        requestComplete: Bool,
        writeEnd: Bool = false,
        chunked: Bool = false
    ) {
        guard case .proxying(let current) = self.state, current === exchange else { return }
        if self.observers != nil {
            self.logRequest(status: exchange.responseStatus, upstreamLatencyMs: exchange.upstreamLatencyMs)
        }
        self.resumeClientReads()
        if closeClient {
            self.state = .closing
        } else if requestComplete {
            self.state = .idle
        } else {
            self.state = .discardingBody(closeAfter: false)
        }
        guard let context = self.context else { return }
        if writeEnd {
            // The last chunk for a chunked body; otherwise an empty write that tells when all went out.
            let end = chunked ? ChunkedFraming.terminator(allocator: context.channel.allocator) : ByteBuffer()
            if closeClient {
                context.writeAndFlush(self.wrapOutboundOut(end)).assumeIsolated().whenComplete { _ in
                    self.closeClient()
                }
            } else if chunked {
                context.writeAndFlush(self.wrapOutboundOut(end), promise: nil)
            } else {
                context.flush()
            }
        } else if closeClient {
            self.closeClient()
        }
        self.becameIdle()
    }

    /// The exchange failed before any response byte reached the client: answer for it.
    func exchangeFailedBeforeResponse(
        _ exchange: Exchange,
        status: HTTPResponseStatus,
        message: String,
        requestComplete: Bool
    ) {
        guard case .proxying(let current) = self.state, current === exchange else { return }
        self.resumeClientReads()
        let head = exchange.clientHead
        let closeAfter = !head.isKeepAlive
        self.state = requestComplete ? .idle : .discardingBody(closeAfter: closeAfter)
        if requestComplete && closeAfter { self.state = .closing }
        self.sendLocal(
            status: status,
            message: message,
            head: head,
            requestID: exchange.requestID,
            closeAfter: closeAfter,
            errorPage: true
        )
        // The request had ended: the connection takes the next one (sendRaw marked it as
        // discarding a body that will not come).
        if requestComplete && !closeAfter { self.state = .idle }
        self.becameIdle()
    }

    func closeClient() {
        // An exchange in flight ends with the client (and never calls back into this handler).
        if case .proxying(let exchange) = self.state { exchange.clientClosed() }
        self.state = .closing
        self.context?.close(promise: nil)
    }

    // MARK: - Helpers

    static func hostWithoutPort(_ host: String) -> String {
        let bytes = host.utf8
        if bytes.first == UInt8(ascii: "[") {
            if let close = bytes.firstIndex(of: UInt8(ascii: "]")) { return String(host[...close]) }
            return host
        }
        if let colon = bytes.lastIndex(of: UInt8(ascii: ":")),
            bytes[bytes.index(after: colon)...].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        {
            return String(host[..<colon])
        }
        return host
    }

    /// The last Host this connection sent and its `X-Forwarded-Host`: a keep-alive client sends
    /// the same Host request after request.
    private var lastForwardedHost: (host: String, forwarded: String)?

    private func cachedForwardedHost(_ host: String?) -> String {
        guard let host else { return "" }
        if let last = self.lastForwardedHost, last.host == host { return last.forwarded }
        let forwarded = Self.forwardedHost(host)
        self.lastForwardedHost = (host, forwarded)
        return forwarded
    }

    /// `X-Forwarded-Host`: the Host header without port, lower-cased (no copy when already so).
    static func forwardedHost(_ host: String) -> String {
        let name = Self.hostWithoutPort(host)
        return name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) ? name.lowercased() : name
    }
}

/// What the response and log phases of one request need; made only for routes with such handlers.
struct RequestObservers {
    let response: [any ResponseHandler]
    let body: [any BodyHandler]
    let log: [any LogPhaseHandler]
    let requestID: String
    let method: String
    let path: String
    let start: NIODeadline
    let routeID: EntityID?
    let serviceID: EntityID?
    var consumer: Consumer?

    init?(
        _ chains: PhaseChains,
        head: RequestHead,
        requestID: String,
        start: NIODeadline,
        routeID: EntityID?,
        serviceID: EntityID?
    ) {
        guard !chains.response.isEmpty || !chains.body.isEmpty || !chains.log.isEmpty else { return nil }
        self.response = chains.response
        self.body = chains.body
        self.log = chains.log
        self.requestID = requestID
        self.method = head.method.rawValue
        self.path = String(head.uri.prefix { $0 != "?" })
        self.start = start
        self.routeID = routeID
        self.serviceID = serviceID
    }
}

/// A routed request waiting for its access phase (and the exchange) while its body is held.
struct RoutedRequest {
    let head: RequestHead
    let requestID: String
    let start: NIODeadline
    let snapshot: Snapshot
    let match: RouteMatch
    let plan: RoutePlan
    let rawPath: Substring
    let path: [UInt8]
    let queryStart: String.UTF8View.Index?
    let rawQuery: Substring?
}

/// A request body held for plugins that read it.
final class HeldBody {
    let routed: RoutedRequest
    var parts: [ByteBuffer] = []
    var bytes = 0

    init(_ routed: RoutedRequest) {
        self.routed = routed
    }
}

/// 32 lowercase hex characters per request, from a per-connection generator seeded once from the
/// system (no system call per request).
struct RequestIDGenerator {
    private var state: (UInt64, UInt64)

    init() {
        var system = SystemRandomNumberGenerator()
        self.state = (system.next() | 1, system.next() | 1)
    }

    mutating func nextWord() -> UInt64 {
        // xorshift128+
        var s1 = self.state.0
        let s0 = self.state.1
        self.state.0 = s0
        s1 ^= s1 << 23
        self.state.1 = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26)
        return self.state.1 &+ s0
    }

    mutating func next() -> String {
        let a = self.nextWord()
        let b = self.nextWord()
        return String(unsafeUninitializedCapacity: 32) { buffer in
            for i in 0..<16 {
                let nibble = UInt8(truncatingIfNeeded: a >> (60 - 4 * UInt64(i))) & 0xf
                buffer[i] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
            }
            for i in 0..<16 {
                let nibble = UInt8(truncatingIfNeeded: b >> (60 - 4 * UInt64(i))) & 0xf
                buffer[16 + i] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
            }
            return 32
        }
    }
}

/// Round-robin cursors of one event loop, by upstream name. They live outside snapshots so a
/// reload does not reset them (an upstream whose slots changed just continues modulo the new size).
final class BalancerCursors {
    private var cursors: [String: Int] = [:]

    func next(in balancer: RoundRobin, upstream: String) -> RoundRobin.Peer? {
        guard !balancer.slots.isEmpty else { return nil }
        let i = self.cursors[upstream, default: Int.random(in: 0..<balancer.slots.count)]
        self.cursors[upstream] = (i + 1) % balancer.slots.count
        return balancer.slots[i % balancer.slots.count]
    }
}
