import TurnpikeModel

/// Kong's jwt (kong/plugins/jwt/handler.lua): a consumer proves itself with a token signed with
/// its `jwt_secrets` credential, found by the key the token names in `key_claim_name` (`iss`).
/// Tokens are searched in the query (`uri_param_names`), cookies (`cookie_names`) and headers
/// (`header_names`, `Bearer <token>`); identical tokens found twice are one, different ones are
/// refused. Every answer is Kong's: status, message (or the claims' errors as the body), and
/// `WWW-Authenticate`; the few malformed tokens Kong answers with a 500 (its Lua raises) get
/// that 500 here too. The token's claims are never logged.
public struct JWTPlugin: Plugin, AccessHandler {
    public static let name = "jwt"
    public static let priority = 1450
    public static let allowsConsumerScope = false
    public typealias Config = JWTConfig

    public let config: JWTConfig
    /// `WWW-Authenticate` without and with an error, made once.
    let challenge: String
    let challengeWithError: String
    public var name: String { Self.name }
    /// The token's places: its headers, its query arguments, and `Cookie` when cookies carry it.
    public var credentialLocations: CredentialLocations {
        CredentialLocations(
            headers: self.config.headerNames + (self.config.cookieNames.isEmpty ? [] : ["cookie"]),
            query: self.config.uriParamNames
        )
    }

    public init(config: JWTConfig) {
        self.config = config
        self.challenge = config.realm.map { "Bearer realm=\"\($0)\"" } ?? "Bearer"
        self.challengeWithError =
            config.realm.map { "Bearer realm=\"\($0)\", error=\"invalid_token\"" } ?? "Bearer error=\"invalid_token\""
    }

    /// Why a token was refused.
    enum Refusal: Error, Equatable {
        /// 401 `{"message": …}`; `withError`: the challenge carries `error="invalid_token"`.
        case unauthorized(String, withError: Bool)
        /// 401 with the claims' errors as the body.
        case claims([String: String], order: [String])
        /// 401 without a challenge (a credential whose consumer is gone; Kong: "should not happen").
        case noConsumer(String)
        /// Kong's Lua raises: 500.
        case crash

        static func == (a: Refusal, b: Refusal) -> Bool {
            switch (a, b) {
            case (.unauthorized(let x, let e), .unauthorized(let y, let f)): return x == y && e == f
            case (.claims(let x, let o), .claims(let y, let p)): return x == y && o == p
            case (.noConsumer(let x), .noConsumer(let y)): return x == y
            case (.crash, .crash): return true
            default: return false
            }
        }
    }

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        if !self.config.runOnPreflight && context.request.method == "OPTIONS" { return .proceed }
        // "OR" mode: another auth plugin already identified a credential.
        if self.config.anonymous != nil, context.authentication?.credentialID != nil { return .proceed }
        let refusal: Refusal
        switch self.authenticate(context, directory: directory) {
        case .success(let found):
            context.setConsumerHeaders(
                consumer: found.consumer,
                credentialID: found.credential.id,
                identifier: found.credential.fields.key
            )
            context.plugins.shared["authenticated_jwt_token"] = found.token
            return .proceed
        case .failure(let failure):
            refusal = failure
        }
        if case .crash = refusal {
            return .respond(LocalResponse(status: 500, message: "An unexpected error occurred"))
        }
        if let anonymous = self.config.anonymous {
            return context.authenticateAnonymous(anonymous, directory: directory)
        }
        return .respond(self.answer(refusal))
    }

    /// Kong's jwt answers with `kong.response.exit(401, {message = …})`: compact JSON (not the
    /// error template), the claims' errors as the body itself.
    func answer(_ refusal: Refusal) -> LocalResponse {
        switch refusal {
        case .unauthorized(let message, let withError):
            return LocalResponse.exit(
                status: 401,
                json: [("message", message)],
                headers: [(name: "WWW-Authenticate", value: withError ? self.challengeWithError : self.challenge)]
            )
        case .claims(let errors, let order):
            return LocalResponse.exit(
                status: 401,
                json: order.compactMap { name in errors[name].map { (name, $0) } },
                headers: [(name: "WWW-Authenticate", value: self.challengeWithError)]
            )
        case .noConsumer(let message):
            return LocalResponse.exit(status: 401, json: [("message", message)])
        case .crash:
            return LocalResponse(status: 500, message: "An unexpected error occurred")
        }
    }

    struct Found {
        let consumer: Consumer
        let credential: Credential<JWTSecret>
        let token: String
    }

    /// Kong's `do_authentication`, up to the consumer.
    func authenticate(_ context: AccessContext, directory: any CredentialDirectory) -> Result<Found, Refusal> {
        let token: String
        switch self.findTokens(context.request) {
        case .none: return .failure(.unauthorized("Unauthorized", withError: false))
        case .several: return .failure(.unauthorized("Multiple tokens provided", withError: true))
        case .unrecognizable: return .failure(.unauthorized("Unrecognizable token", withError: true))
        case .one(let text): token = text
        }
        let jwt: JWTToken
        switch JWTToken.parse(token) {
        case .success(let parsed): jwt = parsed
        case .failure(.bad(let reason)): return .failure(.unauthorized("Bad token; " + reason, withError: true))
        case .failure(.crash): return .failure(.crash)
        }
        let claim = self.config.keyClaimName
        guard jwt.claimsIndexable else { return .failure(.crash) }
        // `claims[k] or header[k]`: Lua's `or` passes over nil and false only.
        var value = jwt.claim(claim)
        if value == nil || value == .bool(false) { value = JWTToken.last(jwt.header, claim) }
        let key: String
        switch value {
        case nil, .bool(false)?: return .failure(.unauthorized("No mandatory '\(claim)' in claims", withError: true))
        case .string("")?: return .failure(.unauthorized("Invalid '\(claim)' in claims", withError: true))
        case .string(let text)?: key = text
        default: return .failure(.crash)  // a number, a table or null as a cache key
        }
        guard let (credential, plain, base64) = directory.credentials(JWTSecret.self)?.credential(key: key) else {
            return .failure(.unauthorized("No credentials found for given '\(claim)'", withError: true))
        }
        guard jwt.algorithm == credential.fields.algorithm else {
            return .failure(.unauthorized("Invalid algorithm", withError: true))
        }
        let symmetric = jwt.algorithm.hasPrefix("HS")
        let mac: KeyedMAC?
        if symmetric {
            guard let keyed = self.config.secretIsBase64 ? base64 : plain else {
                return .failure(.unauthorized("Invalid key/secret", withError: true))
            }
            mac = keyed
        } else {
            guard credential.fields.rsaPublicKey != nil else {
                return .failure(.unauthorized("Invalid key/secret", withError: true))
            }
            mac = nil
        }
        switch jwt.verify(mac: mac, publicKey: credential.fields.publicKey) {
        case .valid: break
        case .invalid: return .failure(.unauthorized("Invalid signature", withError: true))
        case .crash: return .failure(.crash)
        }
        let claims = self.config.claimsToVerify ?? []
        let errors = jwt.registeredClaimErrors(claims, now: context.now)
        if !errors.isEmpty {
            return .failure(
                .claims(Dictionary(errors, uniquingKeysWith: { a, _ in a }), order: errors.map(\.0))
            )
        }
        if self.config.maximumExpiration > 0 {
            switch jwt.withinMaximumExpiration(self.config.maximumExpiration, now: context.now) {
            case true?: break
            case false?: return .failure(.claims(["exp": "exceeds maximum allowed expiration"], order: ["exp"]))
            case nil: return .failure(.crash)
            }
        }
        guard let consumer = directory.consumer(id: credential.consumer) else {
            return .failure(.noConsumer("Could not find consumer for '\(claim)=\(key)'"))
        }
        return .success(Found(consumer: consumer, credential: credential, token: token))
    }

    enum Tokens: Equatable {
        case none
        case one(String)
        /// `?jwt` without a value (Lua's `true`), alone.
        case unrecognizable
        case several
    }

    /// Kong's `retrieve_tokens`: the query arguments named in `uri_param_names` (each non-empty
    /// value), the cookies named in `cookie_names`, then the headers named in `header_names`
    /// (their first line, `Bearer <token>` anywhere in it); identical tokens count once.
    func findTokens(_ request: AccessRequest) -> Tokens {
        var tokens: [String] = []
        var bare = false
        func add(_ token: String) {
            if !tokens.contains(token) { tokens.append(token) }
        }
        if let query = request.query, !self.config.uriParamNames.isEmpty {
            for (name, value) in QueryString.arguments(query) where self.config.uriParamNames.contains(name) {
                if let value {
                    if !value.isEmpty { add(value) }
                } else {
                    bare = true
                }
            }
        }
        for name in self.config.cookieNames {
            if let cookie = Self.cookie(name, in: request.headers), !cookie.isEmpty { add(cookie) }
        }
        for name in self.config.headerNames {
            guard let line = request.headers.lookup(name), let token = Self.bearer(line) else { continue }
            add(token)
        }
        let count = tokens.count + (bare ? 1 : 0)
        if count == 0 { return .none }
        if count > 1 { return .several }
        return bare ? .unrecognizable : .one(tokens[0])
    }

    /// nginx's `$cookie_<name>` (`ngx_http_parse_multi_header_lines`): in each `Cookie` line, at
    /// each pair, the name compared case-insensitively, spaces allowed around `=`, the value up to
    /// `;`; pairs are skipped to the next `;` or `,`. The first match wins.
    static func cookie(_ name: String, in headers: HeaderFields) -> String? {
        let wanted = Array(name.utf8)
        for line in headers.values("cookie") {
            let b = Array(line.utf8)
            var start = 0
            while start < b.count {
                if start + wanted.count <= b.count, HeaderName.equal(b[start..<(start + wanted.count)], wanted) {
                    var p = start + wanted.count
                    while p < b.count, b[p] == UInt8(ascii: " ") { p += 1 }
                    if p < b.count, b[p] == UInt8(ascii: "=") {
                        p += 1
                        while p < b.count, b[p] == UInt8(ascii: " ") { p += 1 }
                        var last = p
                        while last < b.count, b[last] != UInt8(ascii: ";") { last += 1 }
                        return String(decoding: b[p..<last], as: UTF8.self)
                    }
                }
                while start < b.count {
                    let c = b[start]
                    start += 1
                    if c == UInt8(ascii: ";") || c == UInt8(ascii: ",") { break }
                }
                while start < b.count, b[start] == UInt8(ascii: " ") { start += 1 }
            }
        }
        return nil
    }

    /// Kong's `\s*[Bb]earer\s+(.+)`, unanchored: the text after the first `Bearer` (or
    /// `bearer`) followed by white space; nil when none matches.
    static func bearer(_ line: String) -> String? {
        let bytes = Array(line.utf8)
        func space(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
        var i = 0
        while i + 6 <= bytes.count {
            if bytes[i] == UInt8(ascii: "B") || bytes[i] == UInt8(ascii: "b"),
                bytes[(i + 1)..<(i + 6)].elementsEqual("earer".utf8)
            {
                var j = i + 6
                while j < bytes.count, space(bytes[j]) { j += 1 }
                let run = j - (i + 6)
                if run > 0 {
                    // `.+` takes the rest; with nothing after the white space, the last white
                    // space character (PCRE backtracks one).
                    if j < bytes.count { return String(decoding: bytes[j...], as: UTF8.self) }
                    if run > 1 { return String(decoding: bytes[(j - 1)...], as: UTF8.self) }
                }
            }
            i += 1
        }
        return nil
    }
}
