import NIOCore
import NIOHTTP1
import TurnpikeEngine
import TurnpikeModel
import TurnpikePlugins
import TurnpikeRouter

/// What the pipeline gathers for Kong's log serializer as the request goes (only when someone
/// reads the entry: `--access-log json`).
struct LogFactsGathered {
    /// Wall-clock milliseconds when the request started.
    var startedAtMs: Int64
    var requestBodyBytes = 0
    /// The edits the access phase made to the request sent upstream.
    var edits: UpstreamEdits?
    var credentialID: EntityID?
    /// The path and query sent upstream.
    var upstreamTarget: String?
    var tries: [LogFacts.Try] = []
    var proxied = false
    /// `X-Kong-Proxy-Latency` (proxied) or `X-Kong-Response-Latency` (the gateway's answer).
    var kongLatencyMs: Int64 = 0
}

extension RequestPipeline {
    /// Starts gathering when the access log is on (called as the request begins).
    func startLogFacts() {
        guard self.connection.configuration.accessLog != nil else { return }
        let elapsed = Latency.milliseconds(from: self.start, to: .now())
        let now = UnixTime.nowMilliseconds()
        self.logFacts = LogFactsGathered(startedAtMs: now - elapsed)
        self.downstream.recordsResponseHead = true
    }

    /// A connection attempt to an upstream target (Kong's `tries`); `failedWith`: the status the
    /// previous attempt ended with, when this one is a retry.
    func recordTry(host: String, port: Int, previousFailedWith status: Int?) {
        guard self.logFacts != nil else { return }
        if let status, !self.logFacts!.tries.isEmpty {
            self.logFacts!.tries[self.logFacts!.tries.count - 1].state = "failed"
            self.logFacts!.tries[self.logFacts!.tries.count - 1].code = status
        }
        let now = UnixTime.nowMilliseconds()
        self.logFacts!.tries.append(LogFacts.Try(startMs: now, ip: host, port: port, latencyMs: 0))
    }

    /// Kong's serializer entry for this request, as one JSON line.
    func logLine(status: Int, upstreamLatencyMs: Int64?) -> [UInt8]? {
        guard let gathered = self.logFacts else { return nil }
        let head = self.head
        let connection = self.connection
        let edits = gathered.edits
        let received = head.stringPairs(limit: connection.configuration.maxHeaderCount)
        let headers = edits?.applied(to: received) ?? received
        let originalQuery = self.queryStart.map { head.uri[head.uri.index(after: $0)...] }
        var facts = LogFacts(
            requestID: self.requestID,
            method: head.method.rawValue,
            rawURI: head.uri,
            scheme: connection.isTLS ? "https" : "http",
            host: connection.forwardedHost(head.host),
            port: connection.localPort,
            query: edits?.query.map { Substring($0) } ?? originalQuery,
            requestHeaders: headers,
            requestSize: head.bytes.readableBytes + gathered.requestBodyBytes,
            status: status,
            responseHeaders: self.downstream.responseHeaderLines(),
            responseSize: self.downstream.responseBytes,
            clientIP: connection.clientAddress,
            startedAtMs: gathered.startedAtMs
        )
        facts.proxied = gathered.proxied
        if let match = self.match {
            facts.credentialLocations = self.snapshot.chains[match.routeIndex].credentialLocations
        }
        // nginx's `$upstream_status`: every attempt's status, the last one the answer's.
        facts.upstreamStatus =
            gathered.proxied
            ? (gathered.tries.compactMap(\.code).map(String.init) + [String(self.responseStatus)]).joined(
                separator: ", "
            )
            : ""
        facts.upstreamURI = gathered.upstreamTarget ?? ""
        facts.kongLatencyMs = gathered.kongLatencyMs
        facts.proxyLatencyMs = upstreamLatencyMs ?? -1
        facts.requestLatencyMs = Latency.milliseconds(from: self.start, to: .now())
        if self.match != nil { facts.tries = gathered.tries }
        facts.credentialID = gathered.credentialID
        // Kong's correlation-id adds its id to the entry (`set_serialize_value`).
        if let id = self.plugins.value("id", of: CorrelationIDPlugin.name, as: String.self) {
            facts.extra = [("correlation_id", .string(id))]
        }
        let snapshot = self.snapshot
        let cache = connection.logEntities
        facts.route = self.routeID.flatMap { id in
            cache.entity(.route, id, in: snapshot) { snapshot.kongEntity(route: id) }
        }
        facts.service = self.serviceID.flatMap { id in
            cache.entity(.service, id, in: snapshot) { snapshot.kongEntity(service: id) }
        }
        facts.consumer = self.consumer.flatMap { consumer in
            cache.entity(.consumer, consumer.id, in: snapshot) {
                snapshot.kongShape(Snapshot.render(consumer), foreignKeys: [])
            }
        }
        return KongLogSerializer.line(facts)
    }
}
