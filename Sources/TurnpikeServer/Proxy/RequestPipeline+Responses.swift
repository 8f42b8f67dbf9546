import Logging
import NIOCore
import NIOHTTP1
import TurnpikeEngine
import TurnpikeModel
import TurnpikePlugins
import TurnpikeRouter

/// The gateway's own answers, and the response, body and log phases on every response.
extension RequestPipeline {
    /// A plugin's answer: Kong's error template around a message, or its own body.
    func answer(_ response: LocalResponse) {
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
            contentType: self.head.first(name: "content-type"),
            errorPage: errorPage
        )
        let body = GatewayError.body(message, requestID: self.requestID.description, format: format)
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
        let format = GatewayError.format(accept: nil, errorPage: true)
        let body = GatewayError.body(message, requestID: requestID.description, format: format)
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

    func redirectToHTTPS(statusCode code: Int) {
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
    func send(
        status: Int,
        headers: [(name: String, value: String)],
        body: ByteBuffer?,
        close: Bool = false
    ) {
        _ = self.machine.answered()
        self.responseStarted = true
        let latency = Latency.milliseconds(from: self.start, to: .now())
        self.logFacts?.kongLatencyMs = latency
        let edits = self.responseEdits(
            status: status,
            headers: HeaderFields(headers),
            gateway: GatewayHeaders(
                server: self.connection.configuration.serverToken,
                responseLatencyMs: latency,
                requestID: self.requestID
            )
        )
        // A response handler's exit replaces the status and drops the body here too.
        let exit = edits?.exitStatus
        let bodyBytes = exit == nil ? body?.readableBytes ?? 0 : 0
        self.downstream.sendHead(
            ResponseHeadOut(
                status: exit ?? status,
                kind: .local(headers: headers, latencyMs: latency),
                requestID: self.requestID,
                edits: edits?.headerEdits,
                contentLength: bodyBytes,
                close: close
            )
        )
        if let body, bodyBytes > 0, self.head.method != .HEAD { self.downstream.sendBody(body) }
        self.log(status: exit ?? status, upstreamLatencyMs: nil)
        self.downstream.sendEnd()
    }

    // MARK: - Response, body and log phases

    /// Runs the request's response handlers on a response head; nil when it has none.
    /// `gateway`: the headers the gateway adds to this answer, as the handlers read them.
    func responseEdits(
        status: Int,
        headers: @autoclosure () -> HeaderFields,
        gateway: @autoclosure () -> GatewayHeaders
    ) -> ResponseContext? {
        let response = self.observers?.response ?? []
        guard !response.isEmpty || !self.accessResponseHeaders.isEmpty else { return nil }
        var context = ResponseContext(
            status: status,
            requestID: self.requestID,
            consumer: self.consumer,
            headers: headers(),
            requestHeaders: HeaderFields(bytes: self.head.bytes, fields: self.head.fields),
            gateway: gateway(),
            plugins: self.plugins
        )
        // What the access phase set comes first; the response handlers see and may change it.
        if !self.accessResponseHeaders.isEmpty {
            context.setHeaders(self.accessResponseHeaders, names: self.accessResponseHeaderNames)
        }
        for handler in response { handler.response(&context) }
        self.plugins = context.plugins
        return context
    }

    /// Runs the request's log handlers, once.
    func log(status: Int, upstreamLatencyMs: Int64?) {
        guard !self.logged else { return }
        if let accessLog = self.connection.configuration.accessLog,
            let line = self.logLine(status: status, upstreamLatencyMs: upstreamLatencyMs)
        {
            self.logged = true
            accessLog.append(line)
        }
        guard let log = self.observers?.log, !log.isEmpty else { return }
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
        if self.logFacts != nil {
            self.logFacts!.proxied = true
            self.logFacts!.kongLatencyMs = proxyLatencyMs
        }
        let fields = HeaderFields(bytes: head.bytes, fields: head.fields)
        let edits = self.responseEdits(
            status: head.status,
            headers: fields,
            gateway: GatewayHeaders(
                via: self.connection.via,
                server: self.connection.configuration.serverToken,
                upstreamLatencyMs: upstreamLatencyMs,
                proxyLatencyMs: proxyLatencyMs,
                requestID: self.requestID
            )
        )
        if let edits, let status = edits.exitStatus {
            self.exitInResponsePhase(status: status, upstream: fields, edits: edits)
            return
        }
        // Only a response with a body gets body filters (never HEAD, 1xx, 204, 304).
        let bodyless =
            self.head.method == .HEAD || head.status < 200 || head.status == 204 || head.status == 304
        if let handlers = self.observers?.body, !handlers.isEmpty, !bodyless {
            let response =
                edits
                ?? ResponseContext(
                    status: head.status,
                    requestID: self.requestID,
                    consumer: self.consumer,
                    headers: fields,
                    requestHeaders: HeaderFields(bytes: self.head.bytes, fields: self.head.fields),
                    plugins: self.plugins
                )
            self.bodyFilters = handlers.compactMap { $0.bodyFilter(for: response) }
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
                edits: edits?.headerEdits,
                // Filters that change the body drop its length; observers keep it.
                contentLength: self.bodyFilters.allSatisfy(\.observesOnly) && !self.upstreamHeadOnly
                    ? head.contentLength : nil
            )
        )
    }

    /// Kong's `kong.response.exit(status)` in header_filter: the client gets `status`, the
    /// upstream's headers as the handlers edited them (the gateway writes its own Date, Server,
    /// framing and connection headers) and no body; the upstream's body is read and dropped, so
    /// its connection stays reusable.
    func exitInResponsePhase(status: Int, upstream: HeaderFields, edits: ResponseContext) {
        self.responseStatus = status
        self.dropsUpstreamBody = true
        // Hop-by-hop headers (and those the upstream's Connection names) never pass on.
        let listed = Set(
            upstream.values("connection").flatMap { $0.split(separator: ",") }.map {
                $0.trimmingCharacters(in: " \t").lowercased()
            }
        )
        let headers = upstream.pairs.filter { field in
            let name = field.name.lowercased()
            return !Self.notReplayed.contains(name) && !listed.contains(name)
        }
        self.downstream.sendHead(
            ResponseHeadOut(
                status: status,
                kind: .local(headers: headers, latencyMs: Latency.milliseconds(from: self.start, to: .now())),
                requestID: self.requestID,
                edits: edits.headerEdits,
                contentLength: 0
            )
        )
    }

    /// What a response-phase exit does not pass on from the upstream: hop-by-hop headers, and
    /// those the gateway writes itself.
    static let notReplayed: Set<String> = [
        "date", "server", "via", "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "trailers", "transfer-encoding", "upgrade",
    ]

    /// A piece of the upstream's body, through the body filters.
    func upstreamResponseBody(_ buffer: ByteBuffer) {
        if self.dropsUpstreamBody { return }
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
        if !self.bodyFilters.isEmpty && !self.dropsUpstreamBody {
            var chunk = ByteBuffer()
            for filter in self.bodyFilters { chunk = filter.filter(chunk, last: true) }
            if chunk.readableBytes > 0 { self.downstream.sendBody(chunk) }
        }
        _ = self.machine.answered()
        self.log(status: self.responseStatus, upstreamLatencyMs: self.upstreamLatencyMs)
        self.downstream.sendEnd()
    }

    /// The 101 of a WebSocket handshake went out: the connections become a byte relay.
    func upstreamUpgraded(_ upstream: any Channel) {
        _ = self.machine.answered()
        self.log(status: self.responseStatus, upstreamLatencyMs: self.upstreamLatencyMs)
        self.downstream.becomeTunnel(upstream: upstream)
    }

    /// The exchange failed before any response byte reached the client: the gateway answers.
    func upstreamFailed(status: HTTPResponseStatus, message: String) {
        self.respond(status: status, message: message, errorPage: true)
    }

    /// The exchange failed after part of the response went out: the client sees a cut connection.
    func upstreamFailedMidResponse() {
        _ = self.machine.answered()
        self.log(status: self.responseStatus, upstreamLatencyMs: self.upstreamLatencyMs)
        self.downstream.abort()
    }
}
