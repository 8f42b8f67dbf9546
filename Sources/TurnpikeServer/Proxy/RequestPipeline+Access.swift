import Logging
import NIOCore
import NIOHTTP1
import TurnpikeEngine
import TurnpikeModel
import TurnpikePlugins
import TurnpikeRouter

/// The access phase and the hand-over to the upstream.
extension RequestPipeline {
    /// Runs the access phase, then hands the request to an exchange. `body`: the held body when
    /// it was read whole (all of it when `ended`); held parts are sent on either way.
    func forward(body: [UInt8]?, ended: Bool) {
        guard let match = self.match else { return }
        self.machine.accessStarts(bodyRead: body != nil, ended: ended)
        let chains = self.snapshot.chains[match.routeIndex]
        // No handler, or none that acts on this method (cors on a GET): nothing to build or run.
        guard chains.accessActs(on: self.head.method.rawValue) else {
            self.proxy(edits: nil)
            return
        }
        let head = self.head
        var context = AccessContext(
            request: AccessRequest(
                method: head.method.rawValue,
                scheme: self.connection.isTLS ? "https" : "http",
                host: self.connection.forwardedHost(head.host),
                port: self.connection.localPort,
                path: self.rawPath,
                headers: [],
                query: self.queryStart.map { head.uri[head.uri.utf8.index(after: $0)...] },
                body: body,
                clientAddress: self.connection.clientAddress,
                routeID: self.routeID,
                serviceID: self.serviceID
            ),
            now: UnixTime.now()
        )
        // A view of the parsed head: no string is made until a plugin reads a field.
        context.request.headers = HeaderFields(bytes: head.bytes, fields: head.fields)
            .prefix(fields: self.connection.configuration.maxHeaderCount)
        context.request.normalizedPath = self.path
        if head.version.minor != 1 || head.version.major != 1 {
            context.request.httpVersion = "\(head.version.major).\(head.version.minor)"
        }
        if let captures = match.captures {
            context.request.uriCaptures = URICaptures(
                unnamed: captures.groups.map { $0.map { String(decoding: $0, as: UTF8.self) } },
                named: Dictionary(
                    captures.named.map { ($0.name, $0.value.map { String(decoding: $0, as: UTF8.self) }) },
                    uniquingKeysWith: { a, _ in a }
                )
            )
        }
        let connection = self.connection
        context.request.connection = ConnectionFacts(
            serverAddress: connection.localAddress,
            serverPort: connection.localPort,
            serial: connection.serial,
            requests: connection.requests
        )
        self.accessCursor = 0
        self.runAccess(chains.access, from: 0, context: &context)
    }

    /// What the access phase leaves for the later phases: the consumer (and, for the log entry,
    /// the credential), `kong.ctx`, and the headers it set for the client's response.
    func adoptAccessState(_ context: AccessContext) {
        self.consumer = context.authentication?.consumer
        self.plugins = context.plugins
        self.accessResponseHeaders = context.responseHeaders
        self.accessResponseHeaderNames = context.responseHeaderNames
        self.logFacts?.credentialID = context.authentication?.credentialID
    }

    /// Runs the chain from `index` on: each handler proceeds, answers, or waits for I/O (the
    /// chain then resumes here, at the next handler, on this loop).
    func runAccess(_ chain: [any AccessHandler], from index: Int, context: inout AccessContext) {
        var i = index
        while i < chain.count {
            let outcome = chain[i].access(&context, directory: self.snapshot)
            guard self.handle(outcome, chain: chain, at: i, context: &context) else { return }
            i += 1
        }
        self.adoptAccessState(context)
        self.proxy(edits: context.edits)
    }

    /// What a handler's outcome means for the chain: true to go on with the next handler.
    func handle(
        _ outcome: AccessOutcome,
        chain: [any AccessHandler],
        at index: Int,
        context: inout AccessContext
    ) -> Bool {
        switch outcome {
        case .proceed:
            return true
        case .respond(let response):
            self.adoptAccessState(context)
            self.answer(response)
            return false
        case .pending(let pending):
            self.machine.accessWaits()
            self.pending = pending
            self.accessCursor = index
            self.accessContext = context
            let loop = self.connection.pool.eventLoop
            let timeout = TimeAmount(clamping: pending.timeout)
            // The timer goes through the pipeline, not the plugin's object: whatever the plugin
            // does with its `PendingAccess`, the request ends by its timeout at the latest.
            self.accessTimer = loop.assumeIsolated().scheduleTask(in: timeout) {
                self.accessResumed(pending, chain: chain, timedOut: true)
            }
            pending.whenSettled { self.accessResumed(pending, chain: chain, timedOut: false) }
            return false
        }
    }

    /// A waiting handler's I/O completed (or its timeout passed): its continuation (or its
    /// `onTimeout`) runs, then the chain goes on.
    func accessResumed(_ pending: PendingAccess, chain: [any AccessHandler], timedOut: Bool) {
        guard self.machine.phase == .accessPending, self.pending === pending, var context = self.accessContext
        else { return }
        let continuation: PendingAccess.Continuation
        if timedOut {
            // `expire` wakes the waiter, which would resume the chain a second time: no longer
            // this request's pending, it finds nothing to do.
            self.pending = nil
            pending.expire()
            continuation = pending.onTimeout
        } else {
            // Nothing to run (the plugin handed its continuation over already): the timer stays.
            guard let resumed = pending.takeContinuation() else { return }
            continuation = resumed
        }
        self.accessTimer?.cancel()
        self.accessTimer = nil
        self.accessContext = nil
        _ = self.machine.accessResumes()
        self.pending = nil
        let index = self.accessCursor
        guard self.handle(continuation(&context), chain: chain, at: index, context: &context) else { return }
        self.runAccess(chain, from: index + 1, context: &context)
    }

    /// Hands the request, with the access phase's edits, to an exchange.
    func proxy(edits: UpstreamEdits?) {
        guard let match = self.match, let plan = self.plan else { return }
        let head = self.head
        let held = self.heldParts
        self.heldParts = []
        let ended = self.machine.requestEnded
        guard let service = plan.service else {
            self.respond(status: .serviceUnavailable, message: "no Service found with those values")
            return
        }
        // Target: a named upstream is balanced; anything else is the service's own host and port.
        var key: UpstreamKey
        if let rr = service.balancer {
            guard let peer = self.connection.balancerCursors.next(in: rr, upstream: service.host) else {
                self.respond(status: .serviceUnavailable, message: "failure to get a peer from the ring-balancer")
                return
            }
            key = UpstreamKey(host: peer.host, port: peer.port, tls: service.tls)
        } else {
            key = UpstreamKey(host: service.host, port: service.port, tls: service.tls)
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
        // A plugin's Host (request-transformer's `replace.headers: ["host:…"]`) is the upstream
        // Host, as Kong's `set_header("host")` sets `$upstream_host`.
        var edits = edits
        // Control characters never reach the head (a template may render anything).
        let hostEdit = edits?.set.last { HeaderName.equal($0.name, "host") }.map { HeadWriter.sanitized($0.value) }
        if hostEdit != nil { edits?.set.removeAll { HeaderName.equal($0.name, "host") } }
        let preservesHost = hostEdit != nil || (plan.preserveHost && hostHeader != nil)
        let upstreamHost =
            hostEdit ?? (preservesHost ? hostHeader! : service.upstreamHost(targetHost: key.host, targetPort: key.port))
        // The server name is the Host sent upstream (Kong's `proxy_ssl_name $upstream_host`).
        if service.tls != nil { key.serverName = UpstreamTLS.serverName(forHost: upstreamHost) }
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
        forwarding.tls = connection.isTLS
        let upstreamHead = UpstreamRequestHead(
            buffer: &connection.upstreamHeadBuffer,
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
            expectContinue: !self.machine.bodyRead && held.isEmpty && head.expectsContinue,
            webSocketUpgrade: isUpgrade,
            key: key,
            service: service,
            requestEnded: endsWithHead,
            method: edits?.method.map { HTTPMethod(rawValue: $0) } ?? head.method
        )
        self.upstreamHeadOnly = edits?.method == "HEAD" && head.method != .HEAD
        if self.logFacts != nil {
            self.logFacts!.edits = edits
            // The target as written in the request line sent upstream.
            let line = upstreamHead.bytes.readableBytesView.prefix { $0 != 0x0D }
            if let first = line.firstIndex(of: 0x20), let last = line.lastIndex(of: 0x20), first < last {
                self.logFacts!.upstreamTarget = String(decoding: line[(first + 1)..<last], as: UTF8.self)
            }
        }
        self.machine.proxying()
        self.exchange = exchange
        exchange.begin()
        self.bodyLimit = edits?.bodyLimit
        if let replacedBody {
            // A rewritten body (key-auth's hide_credentials) still answers to a size limit.
            guard self.withinBodyLimit(replacedBody.count) else { return }
            if !replacedBody.isEmpty { exchange.clientBody(self.downstream.allocator.buffer(bytes: replacedBody)) }
        } else {
            for part in held {
                guard self.withinBodyLimit(part.readableBytes) else { return }
                exchange.clientBody(part)
            }
        }
        if ended && !endsWithHead { exchange.clientEnd() }
        // Held parts went to a pooled connection: flush them now (after a pending access phase
        // this runs outside a client read, whose end would otherwise flush).
        exchange.flushUpstream()
    }
}
