import TurnpikeModel
import TurnpikePlugins

/// An in-memory `CredentialDirectory` for plugin tests: the kinds' own indexes over the
/// credentials given.
struct Directory: CredentialDirectory {
    static let here = SourceLocation(file: "t", line: 1, column: 1)

    var indexes: CredentialIndexes
    var consumers: [EntityID: Consumer]

    init(
        keyAuth: [KeyAuthCredential] = [],
        basicAuth: [BasicAuthCredential] = [],
        jwt: [JWTSecret] = [],
        groups: [EntityID: [String]] = [:],
        consumer: EntityID = .zero,
        consumers: [EntityID: Consumer] = [:]
    ) {
        func credential<K: CredentialKind>(_ fields: K, of consumer: EntityID) -> Credential<K> {
            Credential(id: .zero, consumer: consumer, fields: fields, location: Self.here, path: FieldPath())
        }
        var sets = CredentialSets(kinds: PluginRegistry.builtIn.credentialKinds)
        sets[KeyAuthCredential.self] = keyAuth.map { credential($0, of: consumer) }
        sets[BasicAuthCredential.self] = basicAuth.map { credential($0, of: consumer) }
        sets[JWTSecret.self] = jwt.enumerated().map { i, fields in
            var c = credential(fields, of: consumer)
            c.id = EntityID(high: 7, low: UInt64(i))
            return c
        }
        sets[ACLGroup.self] = groups.flatMap { owner, names in names.map { credential(ACLGroup(group: $0), of: owner) }
        }
        self.indexes = CredentialIndexes(building: sets)
        self.consumers = consumers
    }

    func credentials<K: CredentialKind>(_ kind: K.Type) -> K.Index? { self.indexes.index(kind) }
    func consumer(id: EntityID) -> Consumer? { self.consumers[id] }
    func consumer(idOrUsername: String) -> Consumer? {
        self.consumers.values.first { $0.username == idOrUsername || $0.id.description == idOrUsername }
    }
    func route(id: EntityID) -> Route? { nil }
    func service(id: EntityID) -> Service? { nil }
}

func request(
    headers: [(String, String)] = [],
    query: String? = nil,
    method: String = "GET",
    now: Int = 0
) -> AccessContext {
    AccessContext(
        request: AccessRequest(
            method: method,
            headers: headers.map { ($0.0, $0.1) },
            query: query.map { Substring($0) }
        ),
        now: now
    )
}

func message(_ outcome: AccessOutcome) -> String? {
    if case .respond(let r) = outcome { return r.message }
    return nil
}

func status(_ outcome: AccessOutcome) -> Int? {
    if case .respond(let r) = outcome { return r.status }
    return nil
}
