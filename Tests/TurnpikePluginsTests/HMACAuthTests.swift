import Crypto
import Foundation
import Testing
import TurnpikeModel

@testable import TurnpikePlugins

/// hmac-auth (kong/plugins/hmac-auth/access.lua) on hand-built requests, the cases of Kong's
/// spec/03-plugins/19-hmac-auth/03-access_spec.lua among them.
@Suite struct HMACAuthTests {
    static let bobID = EntityID(high: 3, low: 3)
    static let anonymousID = EntityID(high: 4, low: 4)
    static let now = 1_700_000_000
    /// `now` as an HTTP date.
    static let date = "Tue, 14 Nov 2023 22:13:20 GMT"

    static func consumer(_ id: EntityID, _ username: String) -> Consumer {
        var c = Consumer(id: id, location: Directory.here, path: FieldPath())
        c.username = username
        return c
    }

    static let directory: Directory = {
        var d = Directory(
            consumer: bobID,
            consumers: [bobID: consumer(bobID, "bob"), anonymousID: consumer(anonymousID, "no-body")]
        )
        var sets = CredentialSets(kinds: PluginRegistry.builtIn.credentialKinds)
        sets[HMACAuthCredential.self] = [
            Credential(
                id: EntityID(high: 9, low: 9),
                consumer: bobID,
                fields: HMACAuthCredential(username: "bob", secret: "secret"),
                location: Directory.here,
                path: FieldPath()
            )
        ]
        d.indexes = CredentialIndexes(building: sets)
        return d
    }()

    static func sign(_ text: String, _ algorithm: String = "hmac-sha256", secret: String = "secret") -> String {
        let key = SymmetricKey(data: Array(secret.utf8))
        let data = Array(text.utf8)
        let mac: [UInt8]
        switch algorithm {
        case "hmac-sha1": mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: key))
        case "hmac-sha384": mac = Array(HMAC<SHA384>.authenticationCode(for: data, using: key))
        case "hmac-sha512": mac = Array(HMAC<SHA512>.authenticationCode(for: data, using: key))
        default: mac = Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        }
        return Data(mac).base64EncodedString()
    }

    static func authorization(
        _ signed: String,
        headers: String = "date",
        algorithm: String = "hmac-sha256",
        username: String = "bob",
        secret: String = "secret"
    ) -> String {
        #"hmac username="\#(username)", algorithm="\#(algorithm)", headers="\#(headers)", signature="\#(Self.sign(signed, algorithm, secret: secret))""#
    }

    static func run(
        _ configure: (inout HMACAuthConfig) -> Void = { _ in },
        headers: [(String, String)],
        method: String = "GET",
        path: Substring = "/request",
        query: Substring? = nil,
        body: [UInt8]? = nil
    ) -> (AccessOutcome, AccessContext) {
        var config = HMACAuthConfig()
        configure(&config)
        var context = AccessContext(
            request: AccessRequest(method: method, path: path, headers: headers, query: query, body: body),
            now: Self.now
        )
        let outcome = HMACAuthPlugin(config: config).access(&context, directory: Self.directory)
        return (outcome, context)
    }

    static func refusal(_ outcome: AccessOutcome) -> (status: Int, message: String?, challenge: String?)? {
        guard case .respond(let r) = outcome else { return nil }
        return (r.status, r.message, r.header("WWW-Authenticate"))
    }

    @Test func signedDateAuthenticatesBob() {
        let auth = Self.authorization("date: " + Self.date)
        let (outcome, context) = Self.run(headers: [("Date", Self.date), ("Authorization", auth)])
        #expect(outcome == .proceed)
        #expect(context.authentication?.consumer.username == "bob")
        #expect(context.edits.set.contains { $0 == ("X-Credential-Identifier", "bob") })
        // Authorization passes on unless hide_credentials.
        #expect(!context.edits.remove.contains("Authorization"))
        let (_, hidden) = Self.run(
            { $0.hideCredentials = true },
            headers: [("Date", Self.date), ("Authorization", auth)]
        )
        #expect(hidden.edits.remove.contains("Authorization"))
        // Proxy-Authorization wins; hidden in its turn.
        let (proxied, proxyContext) = Self.run(
            { $0.hideCredentials = true },
            headers: [("Date", Self.date), ("Proxy-Authorization", auth), ("Authorization", "hello")]
        )
        #expect(proxied == .proceed)
        #expect(proxyContext.edits.remove.contains("Proxy-Authorization"))
        #expect(!proxyContext.edits.remove.contains("Authorization"))
        // A bad Proxy-Authorization, a good Authorization.
        #expect(
            Self.run(headers: [("Date", Self.date), ("Proxy-Authorization", "asd"), ("Authorization", auth)]).0
                == .proceed
        )
    }

    @Test func refusalsInKongsOrder() {
        let good = Self.authorization("date: " + Self.date)
        let cases: [(headers: [(String, String)], message: String)] = [
            ([("Date", Self.date)], "Unauthorized"),
            ([], "Unauthorized"),
            ([("Authorization", "asd")], HMACAuthPlugin.dateRequired),
            ([("Date", Self.date), ("Authorization", "asd")], HMACAuthPlugin.cannotVerify),
            ([("Date", Self.date), ("Proxy-Authorization", "asd")], HMACAuthPlugin.cannotVerify),
            ([("Date", "Tue, 14 Nov 2023 21:00:00 GMT"), ("Authorization", good)], HMACAuthPlugin.dateRequired),
            ([("X-Date", "wrong date"), ("Authorization", good)], HMACAuthPlugin.dateRequired),
            (
                [
                    ("Date", Self.date),
                    (
                        "Authorization",
                        #"hmac username="bob", algorithm="hmac-sha256", headers="date", signature="not really a base64 encoded value!!!""#
                    ),
                ],
                HMACAuthPlugin.doesNotMatch
            ),
            ([("Date", Self.date), ("Authorization", "hmac :dXNlcm5hbWU6cGFzc3dvcmQ=")], HMACAuthPlugin.cannotVerify),
            ([("Date", Self.date), ("Authorization", "hmac username")], HMACAuthPlugin.cannotVerify),
            (
                [("Date", Self.date), ("Authorization", Self.authorization("date: " + Self.date, username: "bobb"))],
                HMACAuthPlugin.cannotVerify
            ),
            (
                [
                    ("Date", Self.date),
                    ("Authorization", Self.authorization("date: " + Self.date, algorithm: "hmac-sha")),
                ], HMACAuthPlugin.cannotVerify
            ),
            ([("Date", Self.date), ("Authorization", Self.authorization("date: x"))], HMACAuthPlugin.doesNotMatch),
            (
                [("Date", Self.date), ("Authorization", Self.authorization("date: " + Self.date, secret: "guess"))],
                HMACAuthPlugin.doesNotMatch
            ),
            // No comma after the algorithm: the pattern does not match.
            (
                [
                    ("Date", Self.date),
                    ("Authorization", #"hmac username="bob", algorithm="hmac-sha256" headers="date", signature="x""#),
                ],
                HMACAuthPlugin.cannotVerify
            ),
        ]
        for c in cases {
            let r = Self.refusal(Self.run(headers: c.headers).0)
            #expect(r?.status == 401, "\(c.headers)")
            #expect(r?.message == c.message, "\(c.headers)")
            #expect(r?.challenge == "hmac")
        }
        let realm = Self.refusal(Self.run({ $0.realm = "test-realm" }, headers: [("Date", Self.date)]).0)
        #expect(realm?.challenge == #"hmac realm="test-realm""#)
    }

    @Test func whatIsSigned() {
        // Headers as listed (case kept), the request line with the raw target and its query.
        let line = "date: \(Self.date)\ncontent-md5: md5\nGET /request?name=foo%20bar HTTP/1.1"
        let auth = Self.authorization(line, headers: "date content-md5 request-line")
        let headers = [("Date", Self.date), ("Content-MD5", "md5"), ("Authorization", auth)]
        #expect(Self.run(headers: headers, query: "name=foo%20bar").0 == .proceed)
        // Signed without the query: refused.
        let withoutQuery = Self.authorization("date: \(Self.date)\nGET /request HTTP/1.1", headers: "date request-line")
        #expect(
            Self.refusal(
                Self.run(headers: [("Date", Self.date), ("Authorization", withoutQuery)], query: "name=foo").0
            )?
            .message == HMACAuthPlugin.doesNotMatch
        )
        // @request-target: the method lower-cased.
        let target = Self.authorization(
            "date: \(Self.date)\n@request-target: get /request",
            headers: "date @request-target"
        )
        #expect(Self.run(headers: [("Date", Self.date), ("Authorization", target)]).0 == .proceed)
        // A missing listed header signs as `name:`; x-date as any other header.
        let missing = Self.authorization("x-date: \(Self.date)\nx-absent:", headers: "x-date x-absent")
        #expect(Self.run(headers: [("X-Date", Self.date), ("Authorization", missing)]).0 == .proceed)
        // A bad X-Date with a good Date passes (either is enough).
        let either = Self.authorization("x-date: wrong date", headers: "x-date")
        #expect(
            Self.run(headers: [("X-Date", "wrong date"), ("Date", Self.date), ("Authorization", either)]).0 == .proceed
        )
        // HTTP/1.0.
        var context = AccessContext(
            request: AccessRequest(
                method: "GET",
                path: "/request",
                headers: [
                    ("Date", Self.date),
                    (
                        "Authorization",
                        Self.authorization("date: \(Self.date)\nGET /request HTTP/1.0", headers: "date request-line")
                    ),
                ],
                query: nil
            ),
            now: Self.now
        )
        context.request.httpVersion = "1.0"
        #expect(HMACAuthPlugin(config: HMACAuthConfig()).access(&context, directory: Self.directory) == .proceed)
        // Two spaces make an empty name, signed as `:`.
        #expect(
            HMACAuthPlugin.parameters(#"hmac username="a", algorithm="b", headers="date  x", signature="s""#)?.headers
                == ["date", "", "x"]
        )
        // Greedy captures, as PCRE: everything up to the last quote.
        #expect(
            HMACAuthPlugin.parameters(#"Hmac username="a", algorithm="b", headers="c", signature="s", x="y""#)?
                .signature == #"s", x="y"#
        )
    }

    @Test func algorithmsAndEnforcedHeaders() {
        for algorithm in HMACAuthConfig.allAlgorithms {
            let auth = Self.authorization("date: " + Self.date, algorithm: algorithm)
            #expect(Self.run(headers: [("Date", Self.date), ("Authorization", auth)]).0 == .proceed, "\(algorithm)")
        }
        let limited = { (c: inout HMACAuthConfig) in c.algorithms = ["hmac-sha1", "hmac-sha256"] }
        let sha512 = Self.authorization("date: " + Self.date, algorithm: "hmac-sha512")
        #expect(
            Self.refusal(Self.run(limited, headers: [("Date", Self.date), ("Authorization", sha512)]).0)?.message
                == HMACAuthPlugin.cannotVerify
        )
        let enforced = { (c: inout HMACAuthConfig) in c.enforceHeaders = ["date", "request-line"] }
        let dateOnly = Self.authorization("date: " + Self.date)
        #expect(
            Self.refusal(Self.run(enforced, headers: [("Date", Self.date), ("Authorization", dateOnly)]).0)?.message
                == HMACAuthPlugin.cannotVerify
        )
        let both = Self.authorization("date: \(Self.date)\nGET /request HTTP/1.1", headers: "date request-line")
        #expect(Self.run(enforced, headers: [("Date", Self.date), ("Authorization", both)]).0 == .proceed)
    }

    @Test func requestBodyDigest() {
        let validate = { (c: inout HMACAuthConfig) in c.validateRequestBody = true }
        let auth = Self.authorization("date: " + Self.date)
        let body = Array("{\"a\":1}".utf8)
        let digest = "SHA-256=" + Data(SHA256.hash(data: body)).base64EncodedString()
        func run(_ headers: [(String, String)], body: [UInt8]?) -> AccessOutcome {
            Self.run(
                validate,
                headers: [("Date", Self.date), ("Authorization", auth)] + headers,
                method: "POST",
                body: body
            ).0
        }
        #expect(run([("Digest", digest), ("Content-Length", "7")], body: body) == .proceed)
        #expect(Self.refusal(run([("Content-Length", "7")], body: body))?.message == HMACAuthPlugin.doesNotMatch)
        #expect(
            Self.refusal(run([("Digest", digest), ("Content-Length", "3")], body: Array("abc".utf8)))?.message
                == HMACAuthPlugin.doesNotMatch
        )
        #expect(
            Self.refusal(run([("Digest", digest + "spoofed"), ("Content-Length", "7")], body: body))?.message
                == HMACAuthPlugin.doesNotMatch
        )
        // No body, no digest; no body, the digest of nothing.
        #expect(run([], body: nil) == .proceed)
        let empty = "SHA-256=" + Data(SHA256.hash(data: [UInt8]())).base64EncodedString()
        #expect(run([("Digest", empty)], body: nil) == .proceed)
        // A body past the held-body bound cannot be checked: refused, as in Kong.
        #expect(
            Self.refusal(run([("Digest", digest), ("Content-Length", "100000")], body: nil))?.message
                == HMACAuthPlugin.doesNotMatch
        )
        #expect(HMACAuthPlugin(config: HMACAuthConfig()).needsBody == false)
        var needs = HMACAuthConfig()
        validate(&needs)
        #expect(HMACAuthPlugin(config: needs).needsBody)
    }

    @Test func anonymous() {
        let (outcome, context) = Self.run({ $0.anonymous = "no-body" }, headers: [])
        #expect(outcome == .proceed)
        #expect(context.authentication?.consumer.username == "no-body")
        #expect(context.edits.set.contains { $0 == ("X-Anonymous-Consumer", "true") })
        let missing = Self.refusal(Self.run({ $0.anonymous = "ghost" }, headers: []).0)
        #expect(missing?.status == 500)
        #expect(missing?.message == "anonymous consumer ghost is configured but doesn't exist")
    }

    @Test func nginxDates() {
        #expect(HTTPDate.parse(Self.date) == Int64(Self.now))
        #expect(HTTPDate.parse("Tuesday, 14-Nov-23 22:13:20 GMT") == Int64(Self.now))
        #expect(HTTPDate.parse("Tue Nov 14 22:13:20 2023") == Int64(Self.now))
        #expect(HTTPDate.parse("Tue, 14 Nov 2023 22:13:20") == Int64(Self.now))
        #expect(HTTPDate.parse("Xyz, 14 Nov 2023 22:13:20 anything") == Int64(Self.now))
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("Thu, 29 Feb 2024 00:00:00 GMT") == 1_709_164_800)
        #expect(HTTPDate.parse("Wed, 29 Feb 2023 00:00:00 GMT") == nil)
        #expect(HTTPDate.parse("Tue, 14 Nov 2023 24:00:00 GMT") == nil)
        #expect(HTTPDate.parse("Tue, 31 Nov 2023 00:00:00 GMT") == nil)
        #expect(HTTPDate.parse("wrong date") == nil)
        #expect(HTTPDate.parse("") == nil)
    }
}
