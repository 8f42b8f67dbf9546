public import Logging
public import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TurnpikeEngine
import TurnpikeModel
import TurnpikeYAML

/// The admin listener (read-only apart from `POST /reload`), Kong-shaped JSON.
public final class AdminServer: Sendable {
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    public var localAddress: SocketAddress? { self.channel.localAddress }

    public static func start(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        store: SnapshotStore,
        reloader: ConfigReloader,
        serverToken: String,
        logger: Logger
    ) async throws -> AdminServer {
        let gate = ReloadGate()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        AdminHandler(
                            store: store,
                            reloader: reloader,
                            gate: gate,
                            serverToken: serverToken,
                            logger: logger
                        )
                    )
                }
            }
            .bind(host: host, port: port)
            .get()
        logger.notice("admin listening", metadata: ["listen.address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        return AdminServer(channel: channel)
    }

    public func shutdown() async {
        try? await self.channel.close()
    }
}

/// Lets one `POST /reload` run at a time; a second one gets 429, as Kong's `POST /config` does.
final class ReloadGate: Sendable {
    private let busy = Mutex(false)

    func tryEnter() -> Bool {
        self.busy.withLock { busy in
            if busy { return false }
            busy = true
            return true
        }
    }

    func leave() {
        self.busy.withLock { $0 = false }
    }
}

final class AdminHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let store: SnapshotStore
    private let reloader: ConfigReloader
    private let gate: ReloadGate
    private let serverToken: String
    private let logger: Logger
    private var head: HTTPRequestHead?
    private var bodyBytes = 0

    /// Admin request bodies are never used; they are counted and capped (Kong: 10 MiB).
    static let maxBody = 10 << 20

    init(store: SnapshotStore, reloader: ConfigReloader, gate: ReloadGate, serverToken: String, logger: Logger) {
        self.store = store
        self.reloader = reloader
        self.gate = gate
        self.serverToken = serverToken
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.bodyBytes = 0
        case .body(let buffer):
            self.bodyBytes += buffer.readableBytes
            if self.bodyBytes > Self.maxBody, let head = self.head {
                self.head = nil
                self.respond(
                    context: context,
                    head: head,
                    status: .payloadTooLarge,
                    body: .object([("message", .string("Payload too large"))]),
                    close: true
                )
            }
        case .end:
            guard let head = self.head else { return }
            self.head = nil
            self.route(context: context, head: head)
        }
    }

    static let entityCollections: [String: String] = [
        "services": "services", "routes": "routes", "consumers": "consumers", "plugins": "plugins",
        "upstreams": "upstreams", "targets": "targets", "key-auths": "keyauth_credentials",
        "basic-auths": "basicauth_credentials", "acls": "acls", "certificates": "certificates", "snis": "snis",
        "ca_certificates": "ca_certificates", "vaults": "vaults",
    ]

    private func route(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        var segments = path.split(separator: "/").map(String.init)
        if segments.last == "" { segments.removeLast() }
        let method = head.method
        switch (method, segments) {
        case (.GET, []), (.HEAD, []):
            self.respond(context: context, head: head, status: .ok, body: self.nodeInfo())
        case (.GET, ["status"]), (.HEAD, ["status"]):
            self.respondWithStatus(context: context, head: head)
        case (.GET, ["status", "ready"]), (.HEAD, ["status", "ready"]):
            let snapshot = self.store.current
            if snapshot.model.isEmpty {
                self.respond(
                    context: context,
                    head: head,
                    status: .serviceUnavailable,
                    body: .object([("message", .string("no configuration available (empty configuration present)"))])
                )
            } else {
                self.respond(context: context, head: head, status: .ok, body: .object([("message", .string("ready"))]))
            }
        case (.POST, ["reload"]), (.POST, ["config"]):
            self.reload(context: context, head: head)
        case (.GET, ["config"]), (.HEAD, ["config"]):
            // Kong's `GET /config`: the running config as flat declarative YAML (secrets redacted).
            let yaml = YAMLEmitter.emit(self.store.current.rendered())
            self.respond(context: context, head: head, status: .ok, body: .object([("config", .string(yaml))]))
        case (.GET, _), (.HEAD, _):
            var entitySegments = segments
            if entitySegments.count == 4, entitySegments[2] == "targets", entitySegments[3] == "all" {
                entitySegments = [entitySegments[0], entitySegments[1], "targets/all"]
            }
            if let reply = AdminEntities.get(
                segments: entitySegments,
                query: Self.query(head.uri),
                path: path,
                snapshot: self.store.current
            ) {
                self.respond(
                    context: context,
                    head: head,
                    status: HTTPResponseStatus(statusCode: reply.status),
                    body: reply.body
                )
            } else {
                self.respond(
                    context: context,
                    head: head,
                    status: .notFound,
                    body: .object([("message", .string("Not found"))])
                )
            }
        case (_, ["reload"]):
            self.respond(
                context: context,
                head: head,
                status: .methodNotAllowed,
                body: .object([("message", .string("Method not allowed"))])
            )
        default:
            if let first = segments.first, Self.entityCollections[first] != nil,
                method == .POST || method == .PUT || method == .PATCH || method == .DELETE
            {
                self.refuseWrite(context: context, head: head, method: method, segments: segments)
                return
            }
            self.respond(
                context: context,
                head: head,
                status: .notFound,
                body: .object([("message", .string("Not found"))])
            )
        }
    }

    /// The endpoint key each collection can be addressed by, for Kong's "by 'name'" messages.
    static let endpointKeys: [String: String] = [
        "services": "name", "routes": "name", "upstreams": "name", "consumers": "username", "plugins": "instance_name",
        "keyauth_credentials": "key", "basicauth_credentials": "username",
    ]

    /// Writes in DB-less mode (kong-format.md §4.4): Kong's 405 bodies, whatever the request body.
    private func refuseWrite(
        context: ChannelHandlerContext,
        head: HTTPRequestHead,
        method: HTTPMethod,
        segments: [String]
    ) {
        // The collection written to is the last collection segment (`/consumers/x/key-auth` writes key-auths).
        let nestedNames = [
            "key-auth": "keyauth_credentials", "basic-auth": "basicauth_credentials", "acls": "acls",
            "plugins": "plugins", "routes": "routes", "targets": "targets",
        ]
        let isCollection = segments.count % 2 == 1
        let collectionSegment = isCollection ? segments[segments.count - 1] : segments[segments.count - 2]
        let collection =
            segments.count <= 2
            ? (Self.entityCollections[segments[0]] ?? segments[0])
            : (nestedNames[collectionSegment] ?? Self.entityCollections[collectionSegment] ?? collectionSegment)
        let allowed = isCollection ? (method == .POST) : (method != .POST)
        guard allowed else {
            self.respond(
                context: context,
                head: head,
                status: .methodNotAllowed,
                body: .object([("message", .string("Method not allowed"))])
            )
            return
        }
        let op: String
        switch method {
        case .POST: op = "create"
        case .PUT: op = "create or update"
        case .PATCH: op = "update"
        default: op = "remove"
        }
        var message = "cannot \(op) '\(collection)' entities when not using a database"
        if !isCollection, let last = segments.last, EntityID(last) == nil, let key = Self.endpointKeys[collection] {
            message = "cannot \(op) '\(collection)' entities by '\(key)' when not using a database"
        }
        self.respond(
            context: context,
            head: head,
            status: .methodNotAllowed,
            body: .object([
                ("code", .integer(12)), ("name", .string("operation unsupported")), ("message", .string(message)),
            ])
        )
    }

    private func reload(context: ChannelHandlerContext, head: HTTPRequestHead) {
        guard self.gate.tryEnter() else {
            var headers = HTTPHeaders()
            headers.add(name: "Retry-After", value: "1")
            self.respond(
                context: context,
                head: head,
                status: .tooManyRequests,
                body: .object([("message", .string("Currently loading previous configuration"))]),
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

    private func respondToReload(context: ChannelHandlerContext, head: HTTPRequestHead, result: ConfigReloader.Result) {
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
        case .rejected(let message, let errors):
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
                body: .object([("message", .string(message)), ("errors", .array(list))])
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

    private func nodeInfo() -> Rendered {
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
            (
                "plugins",
                .object([
                    ("available_on_server", .object(available)), ("enabled_in_cluster", .strings(enabled.sorted())),
                ])
            ),
            ("configuration", .object([("database", .string("off"))])),
        ])
    }

    private func respondWithStatus(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let reloader = self.reloader
        let store = self.store
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let loop = context.eventLoop
        Task {
            let body = await AdminHandler.currentStatus(reloader: reloader, store: store)
            loop.execute {
                let (handler, context) = bound.value
                handler.respond(context: context, head: head, status: .ok, body: body)
            }
        }
    }

    static func currentStatus(reloader: ConfigReloader, store: SnapshotStore) async -> Rendered {
        let last = await reloader.lastResult
        let at = await reloader.lastReloadAt
        return Self.status(store.current, last: last, at: at)
    }

    /// Kong's `/status` keys that mean something here, plus the last reload.
    static func status(_ snapshot: Snapshot, last: ConfigReloader.Result?, at: Int?) -> Rendered {
        var reload: Rendered = .null
        if let last, let at {
            switch last {
            case .reloaded(let generation, _, _, _):
                reload = .object([
                    ("at", .integer(at)), ("result", .string("reloaded")), ("generation", .integer(generation)),
                ])
            case .unchanged:
                reload = .object([("at", .integer(at)), ("result", .string("unchanged"))])
            case .rejected(let message, let errors):
                reload = .object([
                    ("at", .integer(at)), ("result", .string("rejected")), ("message", .string(message)),
                    ("errors", .array(errors.map { .string($0.description) })),
                ])
            }
        }
        return .object([
            ("configuration_hash", .string(snapshot.hash)),
            ("configuration_generation", .integer(snapshot.generation)),
            ("last_reload", reload),
        ])
    }

    private func respond(
        context: ChannelHandlerContext,
        head: HTTPRequestHead,
        status: HTTPResponseStatus,
        body: Rendered,
        extra: HTTPHeaders = HTTPHeaders(),
        close: Bool = false
    ) {
        let text = body.json
        var headers = extra
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Content-Length", value: String(text.utf8.count))
        headers.add(name: "Server", value: self.serverToken)
        headers.add(name: "X-Kong-Admin-Latency", value: "0")
        headers.add(name: "Access-Control-Allow-Origin", value: head.headers.first(name: "origin") ?? "*")
        headers.add(name: "Access-Control-Allow-Credentials", value: "true")
        let keepAlive = head.isKeepAlive && !close
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil
        )
        if head.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
            buffer.writeString(text)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}
