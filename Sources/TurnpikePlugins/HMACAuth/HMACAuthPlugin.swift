import Crypto
import TurnpikeModel
import TurnpikeRegex

/// Kong's hmac-auth (kong/plugins/hmac-auth/access.lua): the client signs chosen headers (and
/// the request line) with its credential's secret and sends
/// `hmac username="…", algorithm="…", headers="…", signature="…"` in `Proxy-Authorization` or
/// `Authorization`, with a `Date` (or `X-Date`) within `clock_skew` of now; with
/// `validate_request_body` a `Digest: SHA-256=<base64>` must match the body (held up to the
/// 8 KiB buffer: a larger body fails, as in Kong). Kong's messages and challenge; the signature is
/// compared in constant time (Kong uses `==`). OPTIONS requests are authenticated too, as in Kong.
public struct HMACAuthPlugin: Plugin, AccessHandler {
    public static let name = "hmac-auth"
    public static let priority = 1030
    public static let allowsConsumerScope = false
    public typealias Config = HMACAuthConfig

    public let config: HMACAuthConfig
    let challenge: String
    public var name: String { Self.name }
    public var needsBody: Bool { self.config.validateRequestBody }

    public init(config: HMACAuthConfig) {
        self.config = config
        self.challenge = config.realm.map { "hmac realm=\"\($0)\"" } ?? "hmac"
    }

    static let cannotVerify = "HMAC signature cannot be verified"
    static let doesNotMatch = "HMAC signature does not match"
    static let dateRequired =
        "HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication"

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        // "OR" mode: another auth plugin already identified a credential.
        if self.config.anonymous != nil, context.authentication?.credentialID != nil { return .proceed }
        switch self.authenticate(&context, directory: directory) {
        case .success(let found):
            context.setConsumerHeaders(
                consumer: found.consumer,
                credentialID: found.credential.id,
                identifier: found.credential.fields.username
            )
            return .proceed
        case .failure(let refusal):
            if let anonymous = self.config.anonymous {
                return context.authenticateAnonymous(anonymous, directory: directory)
            }
            return .respond(
                LocalResponse(status: 401, message: refusal.message, headers: ["WWW-Authenticate": self.challenge])
            )
        }
    }

    struct Refusal: Error {
        let message: String
    }

    struct Found {
        let consumer: Consumer
        let credential: Credential<HMACAuthCredential>
    }

    /// Kong's `do_authentication`, in its order (the credentials header is hidden before the
    /// signature is checked, as in Kong).
    func authenticate(_ context: inout AccessContext, directory: any CredentialDirectory) -> Result<Found, Refusal> {
        let request = context.request
        let authorization = request.headers.lookup("authorization")
        let proxyAuthorization = request.headers.lookup("proxy-authorization")
        guard authorization != nil || proxyAuthorization != nil else {
            return .failure(Refusal(message: "Unauthorized"))
        }
        guard
            self.withinClockSkew(request.headers.lookup("x-date"), now: context.now)
                || self.withinClockSkew(request.headers.lookup("date"), now: context.now)
        else { return .failure(Refusal(message: Self.dateRequired)) }
        var params = proxyAuthorization.flatMap(Self.parameters)
        if params != nil {
            if self.config.hideCredentials { context.edits.setHeader("Proxy-Authorization", nil) }
        } else {
            params = authorization.flatMap(Self.parameters)
            if self.config.hideCredentials { context.edits.setHeader("Authorization", nil) }
        }
        guard let params, self.validates(params) else { return .failure(Refusal(message: Self.cannotVerify)) }
        guard
            let (credential, secret) = directory.credentials(HMACAuthCredential.self)?.credential(
                username: params.username
            )
        else { return .failure(Refusal(message: Self.cannotVerify)) }
        let signingString = Self.signingString(params.headers, request: request)
        guard let presented = NginxBase64.decode(params.signature, .standard),
            Self.mac(params.algorithm, secret: secret, data: signingString).map({
                ConstantTime.equal($0, presented)
            }) ?? false
        else { return .failure(Refusal(message: Self.doesNotMatch)) }
        if self.config.validateRequestBody && !Self.bodyMatchesDigest(request) {
            return .failure(Refusal(message: Self.doesNotMatch))
        }
        guard let consumer = directory.consumer(id: credential.consumer) else {
            return .failure(Refusal(message: Self.cannotVerify))
        }
        return .success(Found(consumer: consumer, credential: credential))
    }

    /// Kong's `validate_clock_skew`: a date nginx can read, at most `clock_skew` seconds away.
    func withinClockSkew(_ date: String?, now: Int) -> Bool {
        guard let date, let time = HTTPDate.parse(date) else { return false }
        return Double(abs(Int64(now) - time)) <= self.config.clockSkew
    }

    struct Parameters: Equatable {
        var username: String
        var algorithm: String
        var headers: [String]
        var signature: String
    }

    /// Kong's pattern, run by PCRE as `ngx.re` runs it (unanchored, greedy, case-sensitive but
    /// for the scheme's first letter).
    static let pattern: CompiledRegex? = try? CompiledRegex.compile(
        #"\s*[Hh]mac\s*username="(.+)",\s*algorithm="(.+)",\s*headers="(.+)",\s*signature="(.+)""#,
        limits: RegexMatchLimits(),
        dialect: .nginx
    ).get()

    /// Kong's `retrieve_hmac_fields`; nil when the pattern does not match. The header list is
    /// split on single spaces (two spaces make an empty name, as in Kong).
    static func parameters(_ value: String) -> Parameters? {
        guard let pattern = Self.pattern else { return nil }
        var bytes = Array(value.utf8)
        let scratch = MatchScratch()
        let matched = bytes.withUnsafeMutableBufferPointer {
            pattern.matches(UnsafeBufferPointer($0), scratch: scratch)
        }
        guard matched else { return nil }
        let groups = pattern.groupRanges(scratch: scratch)
        guard groups.count >= 5, let u = groups[1], let a = groups[2], let h = groups[3], let s = groups[4] else {
            return nil
        }
        func text(_ r: Range<Int>) -> String { String(decoding: bytes[r], as: UTF8.self) }
        return Parameters(
            username: text(u),
            algorithm: text(a),
            headers: text(h).split(separator: " ", omittingEmptySubsequences: false).map(String.init),
            signature: text(s)
        )
    }

    /// Kong's `validate_params`: every enforced header signed, the algorithm allowed.
    func validates(_ params: Parameters) -> Bool {
        for header in self.config.enforceHeaders where !params.headers.contains(header) { return false }
        return self.config.algorithms.contains(params.algorithm)
    }

    /// Kong's `create_hash` input: per listed name, `name: value` of the request's header (the
    /// name as listed), else `@request-target: <method> <target>` (method lower-cased), else the
    /// request line, else `name:`; joined with newlines.
    /// Bytes: a header's value is signed as it came, whatever its encoding.
    static func signingString(_ names: [String], request: AccessRequest) -> [UInt8] {
        let target = request.query.map { String(request.path) + "?" + $0 } ?? String(request.path)
        var out: [UInt8] = []
        for (i, name) in names.enumerated() {
            if i > 0 { out.append(UInt8(ascii: "\n")) }
            if let value = request.headers.lookupBytes(name) {
                out += Array((name + ": ").utf8) + value
            } else if name == "@request-target" {
                out += Array((name + ": " + request.method.lowercased() + " " + target).utf8)
            } else if name == "request-line" {
                out += Array("\(request.method) \(target) HTTP/\(request.httpVersion)".utf8)
            } else {
                out += Array((name + ":").utf8)
            }
        }
        return out
    }

    static func mac(_ algorithm: String, secret: [UInt8], data: [UInt8]) -> [UInt8]? {
        let key = SymmetricKey(data: secret)
        switch algorithm {
        case "hmac-sha1": return Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: key))
        case "hmac-sha256": return Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        case "hmac-sha384": return Array(HMAC<SHA384>.authenticationCode(for: data, using: key))
        case "hmac-sha512": return Array(HMAC<SHA512>.authenticationCode(for: data, using: key))
        default: return nil
        }
    }

    /// Kong's `validate_body`: without a `Digest`, only an empty body passes; with one, it must
    /// be exactly `SHA-256=<base64 of the body's SHA-256>`. A body past the held-body bound
    /// cannot be read, so it fails (Kong's `get_raw_body` errors the same way).
    static func bodyMatchesDigest(_ request: AccessRequest) -> Bool {
        let body: [UInt8]
        if let held = request.body {
            body = held
        } else if request.declaresNoBody {
            body = []
        } else {
            return false
        }
        guard let digest = request.headers.lookup("digest") else { return body.isEmpty }
        return digest == "SHA-256=" + NginxBase64.encode(Array(SHA256.hash(data: body)))
    }
}
