/// A reference to another entity as written in the file: a string (endpoint key or id) or
/// `{id: <uuid>}`.
struct Reference {
    enum Form {
        case text(String)
        case object(EntityID)
    }

    var form: Form
    var node: ConfigNode
    var path: FieldPath

    /// The text Kong folds into derived ids. Kong adds nothing for the object form (a quirk that
    /// makes distinct plugins collide); turnpike uses the id.
    var idPart: String {
        switch self.form {
        case .text(let s): return s
        case .object(let id): return id.description
        }
    }

    var display: String {
        switch self.form {
        case .text(let s): return s
        case .object(let id): return "{\"id\":\"\(id)\"}"
        }
    }
}

/// The enclosing entity of a nested child.
struct Parent {
    /// The child's foreign-key field naming this parent (`service`, `route`, `consumer`, `upstream`).
    var field: String
    var id: EntityID
    /// The parent's endpoint key (name or username), when it has one.
    var key: String?
}

/// Where a reference still has to be resolved once every entity is known.
enum PendingLink {
    case routeService(Int)
    case pluginService(Int)
    case pluginRoute(Int)
    case pluginConsumer(Int)
    case targetUpstream(Int)
    case sniCertificate(Int)
    case serviceClientCertificate(Int)
}

/// Walks a parsed file into a `Declarative`: reads every entity (nested or flat), assigns ids,
/// resolves references and checks uniqueness, collecting every error on the way.
final class DeclarativeDecoder {
    let diagnostics = Diagnostics()
    var model: Declarative
    var pending: [(PendingLink, Reference)] = []
    /// One reader per credential kind the plugins declare, in registration order.
    let credentialReaders: [any CredentialReading]
    var legacyPaths = false

    /// Kong's consumer children turnpike refuses (those no registered kind reads).
    let refusedConsumerChildren: [String]
    /// A consumer's credential lists, reused from one consumer to the next.
    var consumerChildren: [ConfigNode?] = []

    init(credentialKinds: [any CredentialKind.Type]) {
        self.credentialReaders = credentialKinds.map { $0.makeReader() }
        self.model = Declarative(credentialKinds: credentialKinds)
        let read = Set(credentialKinds.map { $0.collection })
        self.refusedConsumerChildren = Self.unsupportedConsumerChildren.filter { !read.contains($0) }
    }

    /// The collections of the core entities; credential collections follow, in registration order.
    static let coreCollections: [String] = [
        "services", "routes", "consumers", "plugins", "upstreams", "targets", "ca_certificates", "certificates",
        "snis",
    ]

    func credentialReader(_ collection: String) -> (any CredentialReading)? {
        self.credentialReaders.first { $0.collection == collection }
    }

    /// Kong collections turnpike does not implement: rejected, never ignored.
    static let unsupportedCollections: [String] = [
        "vaults", "key_sets", "keys", "filter_chains",
        "workspaces", "parameters", "clustering_data_planes", "jwt_secrets", "hmacauth_credentials",
        "oauth2_credentials", "oauth2_authorization_codes", "oauth2_tokens", "consumer_groups",
        "consumer_group_consumers", "consumer_group_plugins", "ldap_auth_credentials", "sessions",
        "acme_storage", "degraphql_routes", "graphql_ratelimiting_advanced_cost_decoration",
        "partials", "licenses", "custom_plugins",
    ]

    func decodeRoot(_ root: ConfigNode) -> Declarative? {
        guard root.mapping != nil else {
            self.diagnostics.add(
                "failed parsing declarative configuration: expected an object",
                at: root.location,
                path: ""
            )
            return nil
        }
        guard var r = Record(root, path: FieldPath(), diagnostics: self.diagnostics) else { return nil }
        r.extras()

        if let v = r.take("_format_version") {
            if v.isNull {
                r.error("required field missing", key: "_format_version", node: v)
            } else if let s = v.string {
                if ["1.1", "2.1", "3.0"].contains(s) {
                    self.model.formatVersion = s
                    self.legacyPaths = s != "3.0"
                } else {
                    r.error("expected one of: 1.1, 2.1, 3.0", key: "_format_version", node: v)
                }
            } else {
                r.error("expected a string", key: "_format_version", node: v)
            }
        } else {
            r.error("required field missing", key: "_format_version")
        }
        if let t = r.bool("_transform") { self.model.transform = t }

        for name in Self.unsupportedCollections where self.credentialReader(name) == nil {
            guard let node = r.take(name) else { continue }
            if let items = node.sequence, items.isEmpty { continue }
            if node.isNull { continue }
            r.error("'\(name)' entities are not supported by turnpike", key: name, node: node)
        }

        // Top-level collections are read in file order so errors and ids come out in file order.
        for name in Self.coreCollections + self.credentialReaders.map(\.collection) {
            guard let node = r.take(name), !node.isNull else { continue }
            let path = FieldPath(name)
            guard let items = Record.array(node, path: path, diagnostics: self.diagnostics, element: { n, _ in n })
            else {
                continue
            }
            for (i, item) in items.enumerated() {
                let itemPath = path.index(i)
                switch name {
                case "services": self.readService(item, path: itemPath)
                case "routes": self.readRoute(item, path: itemPath, parent: nil)
                case "consumers": self.readConsumer(item, path: itemPath)
                case "plugins": self.readPlugin(item, path: itemPath, parents: [])
                case "upstreams": self.readUpstream(item, path: itemPath)
                case "targets": self.readTarget(item, path: itemPath, parent: nil)
                case "ca_certificates": self.readCACertificate(item, path: itemPath)
                case "certificates": self.readCertificate(item, path: itemPath)
                case "snis": self.readSNI(item, path: itemPath, parent: nil)
                default: self.credentialReader(name)?.read(item, path: itemPath, parent: nil, decoder: self)
                }
            }
        }
        r.finish()

        self.link()
        for reader in self.credentialReaders { reader.assignIDs(transform: self.model.transform) }
        self.checkUniqueness()
        for reader in self.credentialReaders { reader.store(into: &self.model.credentials) }
        return self.model
    }

    // MARK: - Shared field readers

    /// Reads `id` when given. Returns nil when absent or invalid (an error is reported for invalid).
    func readID(_ r: inout Record) -> EntityID? {
        guard let node = r.value("id") else { return nil }
        guard let s = node.string else {
            r.error("expected a string", key: "id", node: node)
            return nil
        }
        guard let id = EntityID(s) else {
            r.error("expected a valid UUID", key: "id", node: node)
            return nil
        }
        return id
    }

    func readTags(_ r: inout Record) -> [String]? {
        let diagnostics = self.diagnostics
        guard
            let tags = r.array(
                "tags",
                expected: "expected a set",
                element: { node, path -> String? in
                    guard let s = Record.string(node, path: path, diagnostics: diagnostics) else { return nil }
                    if let message = Validators.tag(s) {
                        diagnostics.add(message, node: node, path: path.text)
                        return nil
                    }
                    return s
                }
            )
        else { return nil }
        var seen = Set<String>()
        return tags.filter { seen.insert($0).inserted }
    }

    /// Kong's timestamps are accepted (exports carry them) but not used: DB-less entities are
    /// stamped at load time.
    func skipTimestamps(_ r: inout Record) {
        _ = r.integer("created_at")
        _ = r.integer("updated_at")
    }

    func readName(_ r: inout Record, key: String = "name", required: Bool = false) -> String? {
        guard let node = r.value(key, required: required) else { return nil }
        guard let s = Record.string(node, path: r.fieldPath(key), diagnostics: self.diagnostics) else { return nil }
        if let message = Validators.name(s) {
            r.error(message, key: key, node: node)
            return nil
        }
        return s
    }

    /// A foreign key of a top-level entity: string or `{id: uuid}`.
    func readReference(_ r: inout Record, key: String, required: Bool = false) -> Reference? {
        guard let node = r.value(key, required: required) else { return nil }
        let path = r.fieldPath(key)
        if let s = node.string {
            if s.isEmpty {
                r.error("length must be at least 1", key: key, node: node)
                return nil
            }
            return Reference(form: .text(s), node: node, path: path)
        }
        if node.mapping != nil {
            guard var sub = Record(node, path: path, diagnostics: self.diagnostics) else { return nil }
            let idNode = sub.value("id", required: true)
            sub.finish()
            guard let idNode else { return nil }
            guard let s = idNode.string else {
                sub.error("expected a string", key: "id", node: idNode)
                return nil
            }
            guard let id = EntityID(s) else {
                sub.error("expected a valid UUID", key: "id", node: idNode)
                return nil
            }
            return Reference(form: .object(id), node: node, path: path)
        }
        r.error("expected a record", key: key, node: node)
        return nil
    }

    /// A nested child may restate its own parent; any other value for that field is an error.
    func checkRestatedParent(_ r: inout Record, parent: Parent) {
        guard let node = r.take(parent.field), !node.isNull else { return }
        var matches = false
        if let s = node.string {
            matches = s == parent.key || EntityID(s) == parent.id
        } else if let idText = node["id"]?.string {
            matches = EntityID(idText) == parent.id
        }
        if !matches { r.error("value must be null", key: parent.field, node: node) }
    }

    /// Foreign keys a nested child may not set at all (a plugin nested under a service naming a consumer).
    func rejectForeignKeys(_ r: inout Record, _ keys: [String]) {
        for key in keys {
            if let node = r.take(key), !node.isNull {
                r.error("value must be null", key: key, node: node)
            }
        }
    }

    func readProtocols(_ r: inout Record, key: String = "protocols") -> [EntityProtocol]? {
        let diagnostics = self.diagnostics
        guard
            let list = r.array(
                key,
                expected: "expected a set",
                element: { node, path -> EntityProtocol? in
                    guard let s = Record.string(node, path: path, diagnostics: diagnostics) else { return nil }
                    guard let p = EntityProtocol(rawValue: s) else {
                        diagnostics.add(EntityProtocol.messageList, node: node, path: path.text)
                        return nil
                    }
                    return p
                }
            )
        else { return nil }
        var seen = Set<String>()
        return list.filter { seen.insert($0.rawValue).inserted }
    }

    /// Deterministic text of a node, keys sorted, for content-derived ids of unnamed entities.
    static func canonical(_ node: ConfigNode, excluding: Set<String> = [], into out: inout String) {
        switch node.value {
        case .null: out += "~"
        case .bool(let b): out += b ? "T" : "F"
        case .integer(let i): out += "i\(i)"
        case .float(let d): out += "f\(d)"
        case .string(let s): out += "s\(s.utf8.count):\(s)"
        case .sequence(let items):
            out += "["
            for item in items {
                canonical(item, into: &out)
                out += ","
            }
            out += "]"
        case .mapping(let entries):
            out += "{"
            for entry in entries.sorted(by: { $0.name < $1.name }) where !excluding.contains(entry.name) {
                out += "\(entry.name.utf8.count):\(entry.name)="
                canonical(entry.value, into: &out)
                out += ","
            }
            out += "}"
        }
    }

    var contentCounts: [String: Int] = [:]

    /// A stable id for an entity that has no name: its content (plus its parent), and an ordinal
    /// among identical twins, so ids survive reloads and edits elsewhere in the file.
    func contentID(
        namespace: EntityID,
        collection: String,
        node: ConfigNode,
        excluding: Set<String>,
        parent: EntityID?
    ) -> EntityID {
        var text = "turnpike:\(collection):\(parent?.description ?? ""):"
        Self.canonical(node, excluding: excluding, into: &text)
        let n = self.contentCounts[text, default: 0]
        self.contentCounts[text] = n + 1
        return EntityID.v5(namespace: namespace, name: n == 0 ? text : text + "#\(n)")
    }
}
