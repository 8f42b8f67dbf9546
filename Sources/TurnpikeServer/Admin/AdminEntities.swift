import TurnpikeEngine
import TurnpikeModel
import TurnpikePlugins

/// Kong's read-only DB-less entity endpoints (kong/api/endpoints.lua; spec/02-integration/04-admin_api/15-off_spec.lua), answered from a snapshot.
/// Pure: a path and query in, a status and a JSON document out.
enum AdminEntities {
    struct Reply {
        var status: Int
        var body: Rendered
    }

    /// One listable entity: its id, its endpoint key (name, username, …) and its admin rendering.
    struct Item {
        var id: EntityID
        var key: String?
        var render: () -> Rendered
    }

    static func notFound() -> Reply { Reply(status: 404, body: .object([("message", .string("Not found"))])) }

    /// Handles `GET` on an entity path; nil when the path is not an entity path.
    static func get(
        segments: [String],
        query: [String: String],
        path: String,
        snapshot s: Snapshot,
        enabledPlugins: [String]
    ) -> Reply? {
        guard let first = segments.first else { return nil }
        switch (first, segments.count) {
        case ("plugins", 2) where segments[1] == "enabled":
            // Kong: the plugins this node can run (its `plugins` property), not those configured.
            return Reply(status: 200, body: .object([("enabled_plugins", .strings(enabledPlugins))]))
        case ("targets", _):
            // Kong disables the flat /targets endpoints.
            return notFound()
        default:
            break
        }
        guard let collection = Self.collection(first, snapshot: s) else { return nil }
        if segments.count == 1 {
            if first == "consumers", let customID = query["custom_id"] {
                guard !customID.isEmpty else {
                    return Reply(
                        status: 400,
                        body: .object([("message", .string("custom_id must be an unempty string"))])
                    )
                }
                let match = s.consumersByCustomID[customID].map { [Self.consumer(s.model.consumers[$0], s)] } ?? []
                return Reply(status: 200, body: .object([("data", .array(match)), ("next", .null)]))
            }
            return Self.page(collection, query: query, path: path)
        }
        guard let entity = Self.find(segments[1], in: collection) else { return notFound() }
        if segments.count == 2 { return Reply(status: 200, body: entity.render()) }
        guard segments.count == 3 || segments.count == 4 else { return notFound() }
        guard let children = Self.children(of: first, id: entity.id, relation: segments[2], snapshot: s) else {
            return notFound()
        }
        switch children {
        case .single(let item):
            guard segments.count == 3 else { return notFound() }
            return item.map { Reply(status: 200, body: $0.render()) } ?? notFound()
        case .list(let items):
            if segments.count == 4 {
                return Self.find(segments[3], in: items).map { Reply(status: 200, body: $0.render()) } ?? notFound()
            }
            return Self.page(items, query: query, path: path)
        }
    }

    enum Children {
        case single(Item?)
        case list([Item])
    }

    // MARK: - Collections

    static func collection(_ name: String, snapshot s: Snapshot) -> [Item]? {
        let m = s.model
        switch name {
        case "services": return m.services.map { e in Item(id: e.id, key: e.name) { Self.service(e, s) } }
        case "routes": return m.routes.map { e in Item(id: e.id, key: e.name) { Self.route(e, s) } }
        case "consumers": return m.consumers.map { e in Item(id: e.id, key: e.username) { Self.consumer(e, s) } }
        case "plugins":
            return s.plugins.map { p in Item(id: p.instance.id, key: p.instance.instanceName) { Self.plugin(p, s) } }
        case "upstreams": return m.upstreams.map { e in Item(id: e.id, key: e.name) { Self.upstream(e, s) } }
        case "ca_certificates":
            return m.caCertificates.map { e in Item(id: e.id, key: nil) { Self.caCertificate(e, s) } }
        case "certificates":
            return m.certificates.map { e in Item(id: e.id, key: nil) { Self.certificate(e, s) } }
        case "snis": return m.snis.map { e in Item(id: e.id, key: e.name) { Self.sni(e, s) } }
        default:
            guard let list = m.credentials.list(adminCollection: name) else { return nil }
            return Self.credentials(list, s) { _ in true }
        }
    }

    static func children(of parent: String, id: EntityID, relation: String, snapshot s: Snapshot) -> Children? {
        let m = s.model
        let plugins = { (keep: (PluginInstance) -> Bool) -> Children in
            .list(
                s.plugins.filter { keep($0.instance) }.map { p in
                    Item(id: p.instance.id, key: p.instance.instanceName) { Self.plugin(p, s) }
                }
            )
        }
        switch (parent, relation) {
        case ("services", "routes"):
            return .list(
                m.routes.filter { $0.service == id }.map { e in Item(id: e.id, key: e.name) { Self.route(e, s) } }
            )
        case ("services", "plugins"): return plugins { $0.service == id }
        case ("routes", "plugins"): return plugins { $0.route == id }
        case ("consumers", "plugins"): return plugins { $0.consumer == id }
        case ("routes", "service"):
            let route = s.routesByID[id].map { m.routes[$0] }
            let service = route?.service.flatMap { s.servicesByID[$0] }.map { m.services[$0] }
            return .single(service.map { e in Item(id: e.id, key: e.name) { Self.service(e, s) } })
        case ("plugins", "service"), ("plugins", "route"), ("plugins", "consumer"):
            guard let p = s.plugins.first(where: { $0.instance.id == id })?.instance else { return .single(nil) }
            switch relation {
            case "service":
                let e = p.service.flatMap { s.servicesByID[$0] }.map { m.services[$0] }
                return .single(e.map { e in Item(id: e.id, key: e.name) { Self.service(e, s) } })
            case "route":
                let e = p.route.flatMap { s.routesByID[$0] }.map { m.routes[$0] }
                return .single(e.map { e in Item(id: e.id, key: e.name) { Self.route(e, s) } })
            default:
                let e = p.consumer.flatMap { s.consumersByID[$0] }.map { m.consumers[$0] }
                return .single(e.map { e in Item(id: e.id, key: e.username) { Self.consumer(e, s) } })
            }
        case ("certificates", "snis"):
            return .list(
                m.snis.filter { $0.certificate == id }.map { e in Item(id: e.id, key: e.name) { Self.sni(e, s) } }
            )
        case ("upstreams", "targets"), ("upstreams", "targets/all"):
            let targets = (s.targetsByUpstream[id] ?? []).map { m.targets[$0] }
            return .list(targets.map { e in Item(id: e.id, key: e.target) { Self.target(e, s) } })
        default:
            return Self.credentialChildren(of: parent, id: id, relation: relation, snapshot: s)
        }
    }

    /// `/consumers/{consumer}/key-auth` and `/key-auths/{credential}/consumer`, for every kind.
    static func credentialChildren(of parent: String, id: EntityID, relation: String, snapshot s: Snapshot) -> Children?
    {
        let m = s.model
        if parent == "consumers" {
            guard let list = m.credentials.lists.first(where: { $0.kind.adminNestedCollection == relation }) else {
                return nil
            }
            return .list(Self.credentials(list, s) { $0 == id })
        }
        guard relation == "consumer", let list = m.credentials.list(adminCollection: parent) else { return nil }
        let consumerID = (0..<list.count).first { list.id(at: $0) == id }.map { list.consumer(at: $0) }
        let e = consumerID.flatMap { s.consumersByID[$0] }.map { m.consumers[$0] }
        return .single(e.map { e in Item(id: e.id, key: e.username) { Self.consumer(e, s) } })
    }

    /// The credentials of one kind whose consumer passes `keep`.
    static func credentials(_ list: any CredentialList, _ s: Snapshot, keep: (EntityID) -> Bool) -> [Item] {
        (0..<list.count).filter { keep(list.consumer(at: $0)) }.map { i in
            Item(id: list.id(at: i), key: list.endpointValue(at: i)) {
                admin(list.adminRendered(at: i), foreignKeys: ["consumer"], s: s)
            }
        }
    }

    /// By id (any UUID) or endpoint key; a key that looks like a UUID is only looked up as an id.
    static func find(_ idOrKey: String, in items: [Item]) -> Item? {
        let decoded = Self.percentDecoded(idOrKey)
        if let id = EntityID(decoded) { return items.first { $0.id == id } }
        return items.first { $0.key == decoded }
    }

    // MARK: - Pagination (Kong: size 1...1000, default 100; opaque offset; ascending ids)

    static func page(_ items: [Item], query: [String: String], path: String) -> Reply {
        var size = 100
        if let text = query["size"] {
            guard let n = Double(text) else {
                return Reply(
                    status: 400,
                    body: .object([
                        ("code", .integer(9)), ("name", .string("invalid size")),
                        ("message", .string("size must be a number")),
                    ])
                )
            }
            guard n.rounded() == n, n >= 1, n <= 1000 else {
                return Reply(
                    status: 400,
                    body: .object([
                        ("code", .integer(9)), ("name", .string("invalid size")),
                        ("message", .string("size must be an integer between 1 and 1000")),
                    ])
                )
            }
            size = Int(n)
        }
        let sorted = items.sorted { $0.id < $1.id }
        var start = 0
        if let token = query["offset"] {
            guard let bytes = NginxBase64.decode(token, .url), let decoded = String(validating: bytes, as: UTF8.self),
                let id = EntityID(decoded)
            else {
                return Reply(
                    status: 400,
                    body: .object([
                        ("code", .integer(7)), ("name", .string("invalid offset")),
                        ("message", .string("'\(Record.printable(token))' is not a valid offset: bad base64 encoding")),
                    ])
                )
            }
            start = sorted.firstIndex { !($0.id < id) } ?? sorted.count
        }
        let end = min(sorted.count, start + size)
        let data = sorted[start..<end].map { $0.render() }
        guard end < sorted.count else {
            return Reply(status: 200, body: .object([("data", .array(data)), ("next", .null)]))
        }
        let token = NginxBase64.encode(Array(sorted[end].id.description.utf8), .url, padding: false)
        var next = "\(path)?offset=\(token)"
        if query["size"] != nil { next += "&size=\(size)" }
        return Reply(
            status: 200,
            body: .object([("data", .array(data)), ("next", .string(next)), ("offset", .string(token))])
        )
    }

    // MARK: - Kong's entity shapes: every field, foreign keys as {"id": …}, timestamps

    static func admin(_ flat: Rendered, foreignKeys: Set<String>, s: Snapshot, millis: Bool = false) -> Rendered {
        s.kongShape(flat, foreignKeys: foreignKeys, millis: millis)
    }

    static func service(_ e: Service, _ s: Snapshot) -> Rendered { admin(Snapshot.render(e), foreignKeys: [], s: s) }
    static func route(_ e: Route, _ s: Snapshot) -> Rendered {
        admin(Snapshot.render(e), foreignKeys: ["service"], s: s)
    }
    static func consumer(_ e: Consumer, _ s: Snapshot) -> Rendered { admin(Snapshot.render(e), foreignKeys: [], s: s) }
    static func upstream(_ e: Upstream, _ s: Snapshot) -> Rendered { admin(Snapshot.render(e), foreignKeys: [], s: s) }
    /// Kong's admin shape: the SNI names inline; the key redacted (as in `render`).
    static func certificate(_ e: TLSCertificate, _ s: Snapshot) -> Rendered {
        guard case .object(var fields) = admin(Snapshot.render(e), foreignKeys: [], s: s) else { return .null }
        let names = s.model.snis.filter { $0.certificate == e.id }.map(\.name)
        fields.insert(("snis", .strings(names)), at: fields.count - 2)
        return .object(fields)
    }
    static func sni(_ e: SNI, _ s: Snapshot) -> Rendered { admin(Snapshot.render(e), foreignKeys: [], s: s) }
    static func caCertificate(_ e: CACertificate, _ s: Snapshot) -> Rendered {
        admin(Snapshot.render(e), foreignKeys: [], s: s)
    }
    static func target(_ e: Target, _ s: Snapshot) -> Rendered {
        admin(Snapshot.render(e), foreignKeys: ["upstream"], s: s, millis: true)
    }
    static func plugin(_ p: ConfiguredPlugin, _ s: Snapshot) -> Rendered {
        admin(Snapshot.render(p), foreignKeys: ["service", "route", "consumer"], s: s)
    }
    static func percentDecoded(_ s: String) -> String {
        guard s.contains("%") else { return s }
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "%"), it.count >= 2,
                let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(v)
                it = it.dropFirst(2)
            } else {
                bytes.append(c)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
