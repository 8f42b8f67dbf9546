import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TurnpikeEngine
import TurnpikeModel
import TurnpikePlugins
import TurnpikeYAML

/// The admin endpoints that report on the node and the running config: `GET /`, `GET /status`,
/// `POST /reload`.
extension AdminHandler {
    func reload(context: ChannelHandlerContext, head: HTTPRequestHead) {
        guard self.gate.tryEnter() else {
            var headers = HTTPHeaders()
            headers.add(name: "Retry-After", value: "1")
            self.respond(
                context: context,
                head: head,
                status: .tooManyRequests,
                body: Self.message("Currently loading previous configuration"),
                extra: headers
            )
            return
        }
        let reloader = self.reloader
        let gate = self.gate
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let loop = context.eventLoop
        Task {
            let result = await reloader.reload()
            gate.leave()
            loop.execute {
                let (handler, context) = bound.value
                handler.respondToReload(context: context, head: head, result: result)
            }
        }
    }

    func respondToReload(context: ChannelHandlerContext, head: HTTPRequestHead, result: ConfigReloader.Result) {
        switch result {
        case .reloaded(let generation, let hash, let duration, let changes):
            let ms = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
            self.respond(
                context: context,
                head: head,
                status: .ok,
                body: .object([
                    ("message", .string("configuration reloaded")), ("configuration_hash", .string(hash)),
                    ("generation", .integer(generation)), ("load_time_ms", .number((ms * 10).rounded() / 10)),
                    ("changes", changes.rendered),
                ])
            )
        case .unchanged(let hash):
            self.respond(
                context: context,
                head: head,
                status: .ok,
                body: .object([
                    ("message", .string("configuration unchanged")), ("configuration_hash", .string(hash)),
                    ("generation", .integer(self.store.current.generation)),
                ])
            )
        case .rejected(let message, let errors, let total):
            let list: [Rendered] = errors.map { e in
                .object([
                    ("file", .string(e.location.file)), ("line", .integer(e.location.line)),
                    ("column", .integer(e.location.column)), ("path", .string(e.path)), ("message", .string(e.message)),
                ])
            }
            self.respond(
                context: context,
                head: head,
                status: .badRequest,
                body: .object([
                    ("message", .string(message)), ("errors", .array(list)), ("errors_total", .integer(total)),
                ])
            )
        }
    }

    static func query(_ uri: String) -> [String: String] {
        guard let q = uri.firstIndex(of: "?") else { return [:] }
        var out: [String: String] = [:]
        for pair in uri[uri.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = AdminEntities.percentDecoded(String(kv[0]))
            if out[key] == nil { out[key] = kv.count == 2 ? AdminEntities.percentDecoded(String(kv[1])) : "" }
        }
        return out
    }

    func nodeInfo() -> Rendered {
        let snapshot = self.store.current
        var enabled: [String] = []
        for p in snapshot.plugins where p.instance.enabled && !enabled.contains(p.instance.name) {
            enabled.append(p.instance.name)
        }
        let available: [(String, Rendered)] = TurnpikeVersion.plugins.map { name, priority in
            (name, .object([("priority", .integer(priority)), ("version", .string(TurnpikeVersion.string))]))
        }
        return .object([
            ("tagline", .string("Welcome to turnpike")),
            ("version", .string(TurnpikeVersion.string)),
            ("edition", .string("community")),
            ("hostname", .string(GatewayNode.hostname)),
            ("node_id", .string(GatewayNode.id.description)),
            (
                "plugins",
                .object([
                    ("available_on_server", .object(available)), ("enabled_in_cluster", .strings(enabled.sorted())),
                ])
            ),
            ("configuration", .object([("database", .string("off"))])),
        ])
    }

    func respondWithStatus(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let reloader = self.reloader
        let store = self.store
        let statistics = self.statistics
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let loop = context.eventLoop
        Task {
            let body = await AdminHandler.currentStatus(reloader: reloader, store: store, statistics: statistics)
            loop.execute {
                let (handler, context) = bound.value
                handler.respond(context: context, head: head, status: .ok, body: body)
            }
        }
    }

    static func currentStatus(
        reloader: ConfigReloader,
        store: SnapshotStore,
        statistics: ProxyStatistics?
    ) async -> Rendered {
        let last = await reloader.lastResult
        let at = await reloader.lastReloadAt
        let totals = await statistics?.totals() ?? ProxyStatistics.Totals()
        return Self.status(store.current, server: totals, last: last, at: at)
    }

    /// Kong's `/status` keys that mean something here (kong/api/routes/health.lua: `server` from
    /// the proxy's counters, `configuration_hash` in DB-less mode), plus the last reload.
    static func status(
        _ snapshot: Snapshot,
        server: ProxyStatistics.Totals,
        last: ConfigReloader.Result?,
        at: Int?
    ) -> Rendered {
        var reload: Rendered = .null
        if let last, let at {
            switch last {
            case .reloaded(let generation, _, _, _):
                reload = .object([
                    ("at", .integer(at)), ("result", .string("reloaded")), ("generation", .integer(generation)),
                ])
            case .unchanged:
                reload = .object([("at", .integer(at)), ("result", .string("unchanged"))])
            case .rejected(let message, let errors, let total):
                reload = .object([
                    ("at", .integer(at)), ("result", .string("rejected")), ("message", .string(message)),
                    ("errors", .array(errors.map { .string($0.description) })), ("errors_total", .integer(total)),
                ])
            }
        }
        return .object([
            (
                "server",
                .object([
                    ("connections_accepted", .integer(server.accepted)),
                    ("connections_active", .integer(server.active)),
                    ("connections_handled", .integer(server.handled)),
                    ("connections_reading", .integer(server.reading)),
                    ("connections_waiting", .integer(server.waiting)),
                    ("connections_writing", .integer(server.writing)),
                    ("total_requests", .integer(server.requests)),
                ])
            ),
            ("configuration_hash", .string(snapshot.hash)),
            ("configuration_generation", .integer(snapshot.generation)),
            ("last_reload", reload),
        ])
    }
}
