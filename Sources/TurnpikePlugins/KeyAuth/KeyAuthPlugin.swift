import TurnpikeModel

/// Kong's key-auth: a consumer proves itself with an API key in a header or the query string
/// (kong/plugins/key-auth/handler.lua).
public struct KeyAuthPlugin: Plugin, AccessHandler {
    public static let name = "key-auth"
    public static let priority = 1250
    public static let allowsConsumerScope = false
    public typealias Config = KeyAuthConfig

    public let config: KeyAuthConfig
    public var name: String { Self.name }
    public var needsBody: Bool { self.config.keyInBody }
    public var credentialLocations: CredentialLocations {
        CredentialLocations(
            headers: self.config.keyInHeader ? self.config.keyNames : [],
            query: self.config.keyInQuery ? self.config.keyNames : []
        )
    }

    public init(config: KeyAuthConfig) {
        self.config = config
    }

    /// Where a key was found, for `hide_credentials`.
    enum Found {
        case none
        case key(String, name: String)
        case duplicate
    }

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        if !self.config.runOnPreflight && context.request.method == "OPTIONS" { return .proceed }
        // "OR" mode: another auth plugin already identified a credential.
        if self.config.anonymous != nil, context.authentication?.credentialID != nil { return .proceed }

        let found = self.findKey(context.request)
        let failure: String
        switch found {
        case .duplicate:
            failure = "Duplicate API key found"
        case .none:
            failure = "No API key found in request"
        case .key(let key, let name):
            if key.isEmpty {
                failure = "No API key found in request"
            } else if let credential = directory.credentials(KeyAuthCredential.self)?.credential(key: key),
                credential.fields.ttl.map({ context.now < $0 }) ?? true,
                let consumer = directory.consumer(id: credential.consumer)
            {
                if self.config.hideCredentials { self.hide(name, in: &context) }
                context.setConsumerHeaders(consumer: consumer, credentialID: credential.id)
                return .proceed
            } else {
                failure = "Unauthorized"
            }
        }
        if let anonymous = self.config.anonymous {
            guard directory.consumer(idOrUsername: anonymous) != nil else {
                return context.authenticateAnonymous(anonymous, directory: directory)
            }
            if case .key(_, let name) = found, self.config.hideCredentials { self.hide(name, in: &context) }
            return context.authenticateAnonymous(anonymous, directory: directory)
        }
        let challenge = self.config.realm.map { "Key realm=\"\($0)\"" } ?? "Key"
        return .respond(LocalResponse(status: 401, message: failure, headers: ["WWW-Authenticate": challenge]))
    }

    /// Kong's search: for each key name, the header (case-insensitive, `_` also matching `-`), else
    /// the query argument, else the body field. The first location that has the name decides,
    /// even when empty.
    func findKey(_ request: AccessRequest) -> Found {
        var body: BodyFields?
        var bodyParsed = false
        for name in self.config.keyNames {
            if self.config.keyInHeader {
                let found = request.headers.fields { Self.headerMatches($0, keyName: name) }
                if found.count > 1 { return .duplicate }
                if let field = found.first { return .key(field.value, name: name) }
            }
            if self.config.keyInQuery, let query = request.query {
                var values: [String?] = []
                for (argName, value) in QueryString.arguments(query) where argName == name { values.append(value) }
                if values.count > 1 { return .duplicate }
                if let value = values.first {
                    // `?apikey` with no `=` has no text: try the next key name.
                    guard let value else { continue }
                    return .key(value, name: name)
                }
            }
            if self.config.keyInBody {
                if !bodyParsed {
                    bodyParsed = true
                    body = request.body.flatMap { BodyFields.parse($0, contentType: request.contentType) }
                }
                switch body?.value(named: name) {
                case .text(let value): return .key(value, name: name)
                case .several: return .duplicate
                case .noText, nil: continue
                }
            }
        }
        return .none
    }

    /// A configured `api_key` finds `api_key:` and `api-key:`; `api-key` does not find `api_key:`.
    static func headerMatches(_ header: UnsafeRawBufferPointer, keyName: String) -> Bool {
        guard header.count == keyName.utf8.count else { return false }
        for (h, k) in zip(header, keyName.utf8) {
            let hl = (h >= 0x41 && h <= 0x5A) ? h | 0x20 : h
            let kl = (k >= 0x41 && k <= 0x5A) ? k | 0x20 : k
            if hl == kl { continue }
            if k == UInt8(ascii: "_") && h == UInt8(ascii: "-") { continue }
            return false
        }
        return true
    }

    /// `hide_credentials`: the key name goes from the headers and the query (Kong calls
    /// `kong.service.request.clear_query_arg` wherever the key was found, which re-encodes the
    /// whole query), and from the body with `key_in_body`.
    func hide(_ name: String, in context: inout AccessContext) {
        for field in context.request.headers.fields(whereName: { Self.headerMatches($0, keyName: name) }) {
            context.edits.remove.append(field.name)
        }
        if let query = context.request.query, !query.isEmpty {
            context.edits.query = QueryString.clearingArgument(name, from: query)
        }
        if self.config.keyInBody, let body = context.request.body,
            let fields = BodyFields.parse(body, contentType: context.request.contentType),
            fields.value(named: name) != nil
        {
            context.edits.body = fields.removing(name, from: body)
        }
    }
}
