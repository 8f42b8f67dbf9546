import TurnpikeModel
import TurnpikePlugins

/// An in-memory `CredentialDirectory` for plugin tests.
struct Directory: CredentialDirectory {
    var credentials: [String: KeyAuthCredential] = [:]
    var basic: [String: BasicAuthCredential] = [:]
    var consumers: [EntityID: Consumer] = [:]
    var groupsByConsumer: [EntityID: [String]] = [:]

    func keyAuthCredential(key: String) -> KeyAuthCredential? { self.credentials[key] }
    func basicAuthCredential(username: String) -> BasicAuthCredential? { self.basic[username] }
    func groups(consumer: EntityID) -> [String] { self.groupsByConsumer[consumer] ?? [] }
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
