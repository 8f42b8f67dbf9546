import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TurnpikeEngine
import TurnpikeModel
import TurnpikePlugins
import TurnpikeYAML

final class AdminHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let store: SnapshotStore
    let reloader: ConfigReloader
    let statistics: ProxyStatistics?
    let gate: ReloadGate
    let serverToken: String
    let collections: AdminCollections
    let logger: Logger
    var head: HTTPRequestHead?
    var bodyBytes = 0

    /// Admin request bodies are never used; they are counted and capped (Kong: 10 MiB).
    static let maxBody = 10 << 20

    init(
        store: SnapshotStore,
        reloader: ConfigReloader,
        statistics: ProxyStatistics?,
        gate: ReloadGate,
        serverToken: String,
        collections: AdminCollections,
        logger: Logger
    ) {
        self.store = store
        self.reloader = reloader
        self.statistics = statistics
        self.gate = gate
        self.serverToken = serverToken
        self.collections = collections
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
                    body: Self.message("Payload too large"),
                    close: true
                )
            }
        case .end:
            guard let head = self.head else { return }
            self.head = nil
            self.route(context: context, head: head)
        }
    }

    func route(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        var segments = path.split(separator: "/").map(String.init)
        if segments.last == "" { segments.removeLast() }
        let method = head.method
        // Kong's api_helpers: a path it does not know is 404; a method a known path does not
        // define is 405 (OPTIONS is defined everywhere and lists the others).
        guard let allowed = Self.allowedMethods(segments, collections: self.collections) else {
            self.respond(context: context, head: head, status: .notFound, body: Self.message("Not found"))
            return
        }
        if method == .OPTIONS {
            self.respondToOptions(context: context, head: head, allowed: allowed)
            return
        }
        let isEntityPath = segments.first.map { self.collections.top[$0] != nil } ?? false
        if isEntityPath, method == .POST || method == .PUT || method == .PATCH || method == .DELETE {
            self.refuseWrite(context: context, head: head, method: method, segments: segments)
            return
        }
        guard allowed.contains(method) || (method == .HEAD && allowed.contains(.GET)) else {
            self.refuseMethod(context: context, head: head)
            return
        }
        switch (method, segments) {
        case (_, []):
            self.respond(context: context, head: head, status: .ok, body: self.nodeInfo())
        case (_, ["status"]):
            self.respondWithStatus(context: context, head: head)
        case (_, ["status", "ready"]):
            let snapshot = self.store.current
            if snapshot.model.isEmpty {
                self.respond(
                    context: context,
                    head: head,
                    status: .serviceUnavailable,
                    body: Self.message("no configuration available (empty configuration present)")
                )
            } else {
                self.respond(context: context, head: head, status: .ok, body: Self.message("ready"))
            }
        case (.POST, ["reload"]), (.POST, ["config"]):
            self.reload(context: context, head: head)
        case (_, ["config"]):
            // Kong's `GET /config`: the running config as flat declarative YAML (secrets redacted).
            let yaml = YAMLEmitter.emit(self.store.current.rendered())
            self.respond(context: context, head: head, status: .ok, body: .object([("config", .string(yaml))]))
        default:
            var entitySegments = segments
            if entitySegments.count == 4, entitySegments[2] == "targets", entitySegments[3] == "all" {
                entitySegments = [entitySegments[0], entitySegments[1], "targets/all"]
            }
            let reply = AdminEntities.get(
                segments: entitySegments,
                query: Self.query(head.uri),
                path: path,
                snapshot: self.store.current,
                enabledPlugins: self.collections.enabledPlugins
            )
            self.respond(
                context: context,
                head: head,
                status: HTTPResponseStatus(statusCode: reply?.status ?? 404),
                body: reply?.body ?? Self.message("Not found")
            )
        }
    }

    static func message(_ text: String) -> Rendered { .object([("message", .string(text))]) }

    /// Kong's answer to a method the path does not define.
    func refuseMethod(context: ChannelHandlerContext, head: HTTPRequestHead) {
        self.respond(context: context, head: head, status: .methodNotAllowed, body: Self.message("Method not allowed"))
    }

    /// The methods a path defines, as Kong's admin API does (HEAD goes with GET, OPTIONS with
    /// every path); nil for a path it does not know. Entity paths define Kong's methods, whose
    /// writes answer DB-less 405s.
    static func allowedMethods(_ segments: [String], collections: AdminCollections) -> [HTTPMethod]? {
        switch segments {
        case [], ["status"], ["status", "ready"], ["plugins", "enabled"]: return [.GET]
        case ["reload"]: return [.POST]
        case ["config"]: return [.GET, .POST]
        default: break
        }
        guard let first = segments.first, collections.top[first] != nil, segments.count <= 4 else {
            return nil
        }
        if segments.count == 4 && segments[2] == "targets" && segments[3] == "all" { return [.GET] }
        // A collection (`/services`, `/services/x/routes`) lists and creates; an entity
        // (`/services/x`, `/routes/x/service`) is read, replaced, updated and deleted.
        return segments.count % 2 == 1 ? [.GET, .POST] : [.DELETE, .GET, .PATCH, .PUT]
    }

    /// Kong's `OPTIONS` answer (kong/api/api_helpers.lua `options_method`): 204, the methods in
    /// `Allow` and `Access-Control-Allow-Methods`.
    func respondToOptions(context: ChannelHandlerContext, head: HTTPRequestHead, allowed: [HTTPMethod]) {
        var names = allowed.map(\.rawValue) + ["OPTIONS"]
        if allowed.contains(.GET) { names.append("HEAD") }
        let list = names.sorted().joined(separator: ", ")
        var headers = HTTPHeaders()
        headers.add(name: "Allow", value: list)
        headers.add(name: "Access-Control-Allow-Methods", value: list)
        headers.add(
            name: "Access-Control-Allow-Headers",
            value: head.headers.first(name: "access-control-request-headers") ?? "Content-Type"
        )
        self.respond(context: context, head: head, status: .noContent, body: nil, extra: headers)
    }

    /// Writes in DB-less mode (kong/api/endpoints.lua, DB-less): Kong's 405 bodies, whatever the request body.
    func refuseWrite(
        context: ChannelHandlerContext,
        head: HTTPRequestHead,
        method: HTTPMethod,
        segments: [String]
    ) {
        // The collection written to is the last collection segment (`/consumers/x/key-auth` writes key-auths).
        let isCollection = segments.count % 2 == 1
        let collectionSegment = isCollection ? segments[segments.count - 1] : segments[segments.count - 2]
        let collection =
            segments.count <= 2
            ? (self.collections.top[segments[0]] ?? segments[0])
            : (self.collections.nested[collectionSegment] ?? self.collections.top[collectionSegment]
                ?? collectionSegment)
        let allowed = isCollection ? (method == .POST) : (method != .POST)
        guard allowed else {
            self.refuseMethod(context: context, head: head)
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
        if !isCollection, let last = segments.last, EntityID(last) == nil,
            let key = self.collections.endpointKeys[collection]
        {
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

    func respond(
        context: ChannelHandlerContext,
        head: HTTPRequestHead,
        status: HTTPResponseStatus,
        body: Rendered?,
        extra: HTTPHeaders = HTTPHeaders(),
        close: Bool = false
    ) {
        let text = body?.json ?? ""
        var headers = extra
        if body != nil { headers.add(name: "Content-Type", value: "application/json; charset=utf-8") }
        if status != .noContent { headers.add(name: "Content-Length", value: String(text.utf8.count)) }
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
        if head.method != .HEAD && !text.isEmpty {
            var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
            buffer.writeString(text)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}
