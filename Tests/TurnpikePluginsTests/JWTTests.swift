import Crypto
import Foundation
import Testing
import TurnpikeModel
import _CryptoExtras

@testable import TurnpikePlugins

/// Tokens for the tests, signed as any JWT library signs them.
enum TokenMaker {
    static func b64url(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func unsigned(_ header: String, _ claims: String) -> String {
        b64url(Array(header.utf8)) + "." + b64url(Array(claims.utf8))
    }

    static func hs(_ claims: String, secret: String, alg: String = "HS256", header: String? = nil) -> String {
        let input = unsigned(header ?? #"{"typ":"JWT","alg":"\#(alg)"}"#, claims)
        let key = SymmetricKey(data: Array(secret.utf8))
        let mac: [UInt8]
        switch alg {
        case "HS384": mac = Array(HMAC<SHA384>.authenticationCode(for: Array(input.utf8), using: key))
        case "HS512": mac = Array(HMAC<SHA512>.authenticationCode(for: Array(input.utf8), using: key))
        default: mac = Array(HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: key))
        }
        return input + "." + b64url(mac)
    }

    static func signed(_ claims: String, alg: String, sign: ([UInt8]) throws -> [UInt8]) rethrows -> String {
        let input = unsigned(#"{"typ":"JWT","alg":"\#(alg)"}"#, claims)
        return input + "." + b64url(try sign(Array(input.utf8)))
    }
}

/// Keys made once (RSA key generation is slow). swift-crypto's keys are immutable values not
/// marked Sendable.
enum TestKeys {
    static let rsa = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    static let otherRSA = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    nonisolated(unsafe) static let p256 = P256.Signing.PrivateKey()
    nonisolated(unsafe) static let p384 = P384.Signing.PrivateKey()
    nonisolated(unsafe) static let p521 = P521.Signing.PrivateKey()
    nonisolated(unsafe) static let ed25519 = Curve25519.Signing.PrivateKey()

    static var ed25519PEM: String {
        let spki: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]
        let der = spki + Array(Self.ed25519.publicKey.rawRepresentation)
        return "-----BEGIN PUBLIC KEY-----\n" + Data(der).base64EncodedString() + "\n-----END PUBLIC KEY-----\n"
    }
}

/// jwt (kong/plugins/jwt/handler.lua, jwt_parser.lua) on hand-built requests, the cases of
/// Kong's spec/03-plugins/16-jwt/03-access_spec.lua among them.
@Suite struct JWTTests {
    static let consumerID = EntityID(high: 1, low: 1)
    static let anonymousID = EntityID(high: 2, low: 2)
    static let now = 1_700_000_000
    static let secret = "shhh-secret"

    static func directory(_ credentials: [JWTSecret]) -> Directory {
        Directory(
            jwt: credentials,
            consumer: Self.consumerID,
            consumers: [
                Self.consumerID: Self.consumer(Self.consumerID, "jwt_tests_consumer"),
                Self.anonymousID: Self.consumer(Self.anonymousID, "no-body"),
            ]
        )
    }

    static func consumer(_ id: EntityID, _ username: String) -> Consumer {
        var c = Consumer(id: id, location: Directory.here, path: FieldPath())
        c.username = username
        return c
    }

    static let hsDirectory = directory([JWTSecret(key: "iss-key", secret: secret)])

    static func run(
        _ configure: (inout JWTConfig) -> Void = { _ in },
        headers: [(String, String)] = [],
        query: String? = nil,
        method: String = "GET",
        directory: Directory = hsDirectory
    ) -> (AccessOutcome, AccessContext) {
        var config = JWTConfig()
        configure(&config)
        var context = request(headers: headers, query: query, method: method, now: Self.now)
        let outcome = JWTPlugin(config: config).access(&context, directory: directory)
        return (outcome, context)
    }

    static func bearer(_ token: String) -> [(String, String)] { [("Authorization", "Bearer " + token)] }

    /// The refusal's status, its message (the `message` field of Kong's `exit` JSON, the raw
    /// body for the claims' errors, the template's message for a 500) and challenge.
    static func refusal(_ outcome: AccessOutcome) -> (status: Int, body: String, challenge: String?)? {
        guard case .respond(let r) = outcome else { return nil }
        let body: String
        switch r.body {
        case .message(let m): body = m
        case .bytes(let b):
            let object = try? JSONSerialization.jsonObject(with: Data(b)) as? [String: Any]
            body = object?["message"] as? String ?? String(decoding: b, as: UTF8.self)
        case .none: body = ""
        }
        return (r.status, body, r.header("WWW-Authenticate"))
    }

    static let valid = TokenMaker.hs(#"{"iss":"iss-key","name":"x"}"#, secret: secret)

    @Test func validTokenIdentifiesTheConsumer() {
        let (outcome, context) = Self.run(headers: Self.bearer(Self.valid))
        #expect(outcome == .proceed)
        #expect(context.authentication?.consumer.username == "jwt_tests_consumer")
        #expect(context.edits.set.contains { $0 == ("X-Credential-Identifier", "iss-key") })
        #expect(context.edits.set.contains { $0 == ("X-Consumer-Username", "jwt_tests_consumer") })
        #expect(!context.edits.set.contains { $0.name == "X-Anonymous-Consumer" })
        #expect(context.plugins.shared["authenticated_jwt_token"] as? String == Self.valid)
    }

    @Test func refusalsInKongsOrder() {
        let s = Self.secret
        let cases: [(token: String?, message: String, withError: Bool)] = [
            (nil, "Unauthorized", false),
            (TokenMaker.hs(#"{"name":"x"}"#, secret: s), "No mandatory 'iss' in claims", true),
            (TokenMaker.hs(#"{"iss":""}"#, secret: s), "Invalid 'iss' in claims", true),
            (TokenMaker.hs(#"{"iss":"nobody"}"#, secret: s), "No credentials found for given 'iss'", true),
            (TokenMaker.hs(#"{"iss":"iss-key"}"#, secret: "foo"), "Invalid signature", true),
            (TokenMaker.hs(#"{"iss":"iss-key"}"#, secret: s, alg: "HS512"), "Invalid algorithm", true),
            ("no-way-this-works" + Self.valid, "Bad token; invalid JSON", true),
            ("a.b", "Bad token; invalid JSON", true),
            (TokenMaker.unsigned(#"{"alg":"none"}"#, #"{"iss":"iss-key"}"#) + ".", "Bad token; invalid alg", true),
            (TokenMaker.unsigned(#"{"alg":"hs256"}"#, #"{"iss":"iss-key"}"#) + ".x", "Bad token; invalid alg", true),
            (TokenMaker.unsigned(#"{"typ":"JWT"}"#, #"{"iss":"iss-key"}"#) + ".x", "Bad token; invalid alg", true),
            // A header that is a string: Lua indexes it, no `alg`.
            (TokenMaker.unsigned(#""x""#, #"{"iss":"iss-key"}"#) + ".x", "Bad token; invalid alg", true),
            (TokenMaker.unsigned(#"{"alg":"HS256"}"#, "false") + ".x", "Bad token; invalid claims", true),
            (
                TokenMaker.unsigned(#"{"alg":"HS256"}"#, #"{"iss":"iss-key"}"#) + ".a+b",
                "Bad token; invalid signature", true
            ),
            (TokenMaker.unsigned(#"{"alg":"HS256"}"#, #"{"iss":"iss-key"}"#) + ".", "Invalid signature", true),
        ]
        for c in cases {
            let (outcome, _) = Self.run(headers: c.token.map(Self.bearer) ?? [])
            let r = Self.refusal(outcome)
            #expect(r?.status == 401, "\(c.message)")
            #expect(r?.body == c.message)
            #expect(r?.challenge == (c.withError ? #"Bearer error="invalid_token""# : "Bearer"), "\(c.message)")
        }
        // A tampered payload keeps the old signature.
        let parts = Self.valid.split(separator: ".")
        let tampered = parts[0] + "." + TokenMaker.b64url(Array(#"{"iss":"iss-key","name":"y"}"#.utf8)) + "." + parts[2]
        #expect(Self.refusal(Self.run(headers: Self.bearer(String(tampered))).0)?.body == "Invalid signature")
        // Oversized and malformed tokens are refused, never crash.
        let huge = String(repeating: "A", count: 20_000) + "." + String(repeating: "B", count: 20_000) + ".c"
        #expect(Self.refusal(Self.run(headers: Self.bearer(huge)).0)?.body == "Bad token; invalid JSON")
        #expect(Self.refusal(Self.run(headers: Self.bearer("....")).0)?.body == "Bad token; invalid JSON")
    }

    /// Kong's jwt answers with `kong.response.exit`: compact JSON as cjson writes it, whatever
    /// the client accepts.
    @Test func answersAreKongsExitJSON() {
        guard case .respond(let r) = Self.run(headers: [("Accept", "text/html")]).0 else {
            Issue.record("not refused")
            return
        }
        #expect(r.body == .bytes(Array(#"{"message":"Unauthorized"}"#.utf8)))
        #expect(r.header("Content-Type") == "application/json; charset=utf-8")
        let keyless = Self.directory([JWTSecret(key: "b64", secret: "a+b/")])
        let token = TokenMaker.hs(#"{"iss":"b64"}"#, secret: "x")
        guard
            case .respond(let slash) = Self.run(
                { $0.secretIsBase64 = true },
                headers: Self.bearer(token),
                directory: keyless
            ).0
        else { return }
        #expect(slash.body == .bytes(Array(#"{"message":"Invalid key\/secret"}"#.utf8)))
    }

    @Test func realmInTheChallenge() {
        let (none, _) = Self.run({ $0.realm = "test-jwt" })
        #expect(Self.refusal(none)?.challenge == #"Bearer realm="test-jwt""#)
        let (bad, _) = Self.run({ $0.realm = "test-jwt" }, headers: Self.bearer("x.y.z"))
        #expect(Self.refusal(bad)?.challenge == #"Bearer realm="test-jwt", error="invalid_token""#)
    }

    /// Kong's 500s: its Lua raises on these (a number as the key, an ES signature of the wrong
    /// length, claims that are a number).
    @Test func whereKongAnswers500() {
        let cases = [
            TokenMaker.hs(#"{"iss":123}"#, secret: Self.secret),
            TokenMaker.hs(#"{"iss":null}"#, secret: Self.secret),
            TokenMaker.unsigned(#"{"alg":"HS256"}"#, "42") + ".xx",
            TokenMaker.unsigned("7", #"{"iss":"iss-key"}"#) + ".x",
        ]
        for token in cases {
            let r = Self.refusal(Self.run(headers: Self.bearer(token)).0)
            #expect(r?.status == 500, "\(token) \(r?.body ?? "")")
        }
        let es = Self.directory([
            JWTSecret(key: "es", rsaPublicKey: TestKeys.p256.publicKey.pemRepresentation, algorithm: "ES256")
        ])
        let short = TokenMaker.signed(#"{"iss":"es"}"#, alg: "ES256") { _ in Array(repeating: 1, count: 63) }
        #expect(Self.refusal(Self.run(headers: Self.bearer(short), directory: es).0)?.status == 500)
    }

    @Test func whereTokensAreFound() {
        // Query (uri_param_names), cookies, then headers; the same token twice is one.
        #expect(Self.run(query: "jwt=" + Self.valid).0 == .proceed)
        #expect(Self.run({ $0.uriParamNames = ["token", "jwt"] }, query: "token=" + Self.valid).0 == .proceed)
        #expect(Self.run(headers: Self.bearer(Self.valid), query: "jwt=" + Self.valid).0 == .proceed)
        let several = Self.run(headers: Self.bearer("invalid.jwt.token"), query: "jwt=" + Self.valid).0
        #expect(Self.refusal(several)?.body == "Multiple tokens provided")
        #expect(Self.refusal(Self.run(query: "jwt").0)?.body == "Unrecognizable token")
        #expect(Self.refusal(Self.run(query: "jwt=").0)?.body == "Unauthorized")
        let cookies = { (c: inout JWTConfig) in c.cookieNames = ["silly", "crumble"] }
        #expect(Self.run(cookies, headers: [("Cookie", "a=1; crumble=" + Self.valid)]).0 == .proceed)
        #expect(Self.run(cookies, headers: [("Cookie", "SILLY=\(Self.valid); path=/")]).0 == .proceed)
        // nginx's reading: `,` also separates pairs, spaces around `=` are skipped.
        #expect(Self.run(cookies, headers: [("Cookie", "a=1, crumble=" + Self.valid)]).0 == .proceed)
        #expect(Self.run(cookies, headers: [("Cookie", "crumble = " + Self.valid)]).0 == .proceed)
        #expect(JWTPlugin.cookie("c", in: [(name: "Cookie", value: "crumble=1; c=2")]) == "2")
        #expect(
            Self.refusal(Self.run(cookies, headers: [("Cookie", "crumble=no-way" + Self.valid)]).0)?.body
                == "Bad token; invalid JSON"
        )
        // Headers: `_` read as `-`, the first line only, `Bearer` anywhere in it.
        let custom = { (c: inout JWTConfig) in c.headerNames = ["Custom_Authorization"] }
        #expect(Self.run(custom, headers: [("custom-authorization", "Bearer " + Self.valid)]).0 == .proceed)
        #expect(
            Self.run(
                custom,
                headers: [("Custom-Authorization", "Bearer " + Self.valid), ("Custom-Authorization", "Bearer x")]
            )
            .0 == .proceed
        )
        #expect(Self.run(headers: [("Authorization", "bearer   " + Self.valid)]).0 == .proceed)
        #expect(Self.run(headers: [("Authorization", "Token fooBearer " + Self.valid)]).0 == .proceed)
        #expect(Self.refusal(Self.run(headers: [("Authorization", "Basic " + Self.valid)]).0)?.body == "Unauthorized")
        #expect(JWTPlugin.bearer("Bearer") == nil && JWTPlugin.bearer("Bearer  ") == " ")
        #expect(JWTPlugin.bearer("BEARER x") == nil && JWTPlugin.bearer("Bearer\tx y") == "x y")
    }

    @Test func keyClaimAndBase64Secret() {
        let kid = TokenMaker.hs(#"{"sub":"x"}"#, secret: Self.secret, header: #"{"alg":"HS256","kid":"iss-key"}"#)
        #expect(Self.run({ $0.keyClaimName = "kid" }, headers: Self.bearer(kid)).0 == .proceed)
        let aud = TokenMaker.hs(#"{"aud":"iss-key"}"#, secret: Self.secret)
        #expect(Self.run({ $0.keyClaimName = "aud" }, headers: Self.bearer(aud)).0 == .proceed)
        // secret_is_base64: the stored secret is base64url of what signs.
        let encoded = TokenMaker.b64url(Array("raw secret bytes".utf8))
        let dir = Self.directory([JWTSecret(key: "b64", secret: encoded)])
        let token = TokenMaker.hs(#"{"iss":"b64"}"#, secret: "raw secret bytes")
        #expect(Self.run({ $0.secretIsBase64 = true }, headers: Self.bearer(token), directory: dir).0 == .proceed)
        #expect(Self.refusal(Self.run(headers: Self.bearer(token), directory: dir).0)?.body == "Invalid signature")
        // Kong's url decoder refuses `+` and `/`.
        let notURL = Self.directory([JWTSecret(key: "b64", secret: "a+b/")])
        let any = TokenMaker.hs(#"{"iss":"b64"}"#, secret: "x")
        #expect(
            Self.refusal(Self.run({ $0.secretIsBase64 = true }, headers: Self.bearer(any), directory: notURL).0)?.body
                == "Invalid key/secret"
        )
    }

    @Test func registeredClaims() {
        let verify = { (c: inout JWTConfig) in c.claimsToVerify = ["nbf", "exp"] }
        func body(_ claims: String) -> String? {
            Self.refusal(Self.run(verify, headers: Self.bearer(TokenMaker.hs(claims, secret: Self.secret))).0)?.body
        }
        #expect(body(#"{"iss":"iss-key"}"#) == #"{"nbf":"must be a number","exp":"must be a number"}"#)
        #expect(body(#"{"iss":"iss-key","nbf":0,"exp":\#(Self.now - 10)}"#) == #"{"exp":"token expired"}"#)
        #expect(body(#"{"iss":"iss-key","nbf":0,"exp":\#(Self.now)}"#) == #"{"exp":"token expired"}"#)
        #expect(
            body(#"{"iss":"iss-key","nbf":\#(Self.now + 5),"exp":\#(Self.now + 60)}"#)
                == #"{"nbf":"token not valid yet"}"#
        )
        #expect(body(#"{"iss":"iss-key","nbf":"0","exp":\#(Self.now + 60)}"#) == #"{"nbf":"must be a number"}"#)
        #expect(body(#"{"iss":"iss-key","nbf":\#(Self.now),"exp":\#(Double(Self.now) + 0.5)}"#) == nil)
        // maximum_expiration.
        let maximum = { (c: inout JWTConfig) in
            c.claimsToVerify = ["exp"]
            c.maximumExpiration = 300
        }
        let far = TokenMaker.hs(#"{"iss":"iss-key","exp":\#(Self.now + 3600)}"#, secret: Self.secret)
        let refusal = Self.refusal(Self.run(maximum, headers: Self.bearer(far)).0)
        #expect(refusal?.body == #"{"exp":"exceeds maximum allowed expiration"}"#)
        #expect(refusal?.challenge == #"Bearer error="invalid_token""#)
        let near = TokenMaker.hs(#"{"iss":"iss-key","exp":\#(Self.now + 270)}"#, secret: Self.secret)
        #expect(Self.run(maximum, headers: Self.bearer(near)).0 == .proceed)
    }

    @Test func preflightAndAnonymous() {
        #expect(Self.run({ $0.runOnPreflight = false }, method: "OPTIONS").0 == .proceed)
        #expect(Self.refusal(Self.run(method: "OPTIONS").0)?.body == "Unauthorized")
        let (outcome, context) = Self.run({ $0.anonymous = Self.anonymousID.description })
        #expect(outcome == .proceed)
        #expect(context.authentication?.consumer.username == "no-body")
        #expect(context.edits.set.contains { $0 == ("X-Anonymous-Consumer", "true") })
        #expect(!context.edits.set.contains { $0.name == "X-Credential-Identifier" })
        #expect(Self.run({ $0.anonymous = "no-body" }, headers: Self.bearer("bad")).0 == .proceed)
        let (own, ownContext) = Self.run({ $0.anonymous = "no-body" }, headers: Self.bearer(Self.valid))
        #expect(own == .proceed && ownContext.authentication?.consumer.username == "jwt_tests_consumer")
        let missing = Self.run({ $0.anonymous = "00000000-0000-0000-0000-000000000099" }).0
        #expect(Self.refusal(missing)?.status == 500)
        #expect(
            Self.refusal(missing)?.body
                == "anonymous consumer 00000000-0000-0000-0000-000000000099 is configured but doesn't exist"
        )
    }

    /// Every public-key algorithm, signed by the libraries' own signers; a key of another
    /// credential, or of another type, never verifies.
    @Test func publicKeyAlgorithms() throws {
        let rsaPEM = TestKeys.rsa.publicKey.pemRepresentation
        let cases: [(alg: String, pem: String, sign: ([UInt8]) throws -> [UInt8])] = [
            (
                "RS256", rsaPEM,
                {
                    try Array(
                        TestKeys.rsa.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5)
                            .rawRepresentation
                    )
                }
            ),
            (
                "RS384", rsaPEM,
                {
                    try Array(
                        TestKeys.rsa.signature(for: SHA384.hash(data: $0), padding: .insecurePKCS1v1_5)
                            .rawRepresentation
                    )
                }
            ),
            (
                "RS512", rsaPEM,
                {
                    try Array(
                        TestKeys.rsa.signature(for: SHA512.hash(data: $0), padding: .insecurePKCS1v1_5)
                            .rawRepresentation
                    )
                }
            ),
            (
                "PS256", rsaPEM,
                { try Array(TestKeys.rsa.signature(for: SHA256.hash(data: $0), padding: .PSS).rawRepresentation) }
            ),
            (
                "PS384", rsaPEM,
                { try Array(TestKeys.rsa.signature(for: SHA384.hash(data: $0), padding: .PSS).rawRepresentation) }
            ),
            (
                "PS512", rsaPEM,
                { try Array(TestKeys.rsa.signature(for: SHA512.hash(data: $0), padding: .PSS).rawRepresentation) }
            ),
            (
                "ES256", TestKeys.p256.publicKey.pemRepresentation,
                { try Array(TestKeys.p256.signature(for: SHA256.hash(data: $0)).rawRepresentation) }
            ),
            (
                "ES384", TestKeys.p384.publicKey.pemRepresentation,
                { try Array(TestKeys.p384.signature(for: SHA384.hash(data: $0)).rawRepresentation) }
            ),
            (
                "ES512", TestKeys.p521.publicKey.pemRepresentation,
                { try Array(TestKeys.p521.signature(for: SHA512.hash(data: $0)).rawRepresentation) }
            ),
            ("EdDSA", TestKeys.ed25519PEM, { try Array(TestKeys.ed25519.signature(for: $0)) }),
        ]
        for c in cases {
            let dir = Self.directory([JWTSecret(key: "pk", rsaPublicKey: c.pem, algorithm: c.alg)])
            let token = try TokenMaker.signed(#"{"iss":"pk"}"#, alg: c.alg, sign: c.sign)
            let (outcome, context) = Self.run(headers: Self.bearer(token), directory: dir)
            #expect(outcome == .proceed, "\(c.alg)")
            #expect(context.edits.set.contains { $0 == ("X-Credential-Identifier", "pk") }, "\(c.alg)")
            // secret_is_base64 never applies to public keys.
            #expect(Self.run({ $0.secretIsBase64 = true }, headers: Self.bearer(token), directory: dir).0 == .proceed)
            // The signature of another payload.
            let parts = token.split(separator: ".")
            let other = try TokenMaker.signed(#"{"iss":"pk","x":1}"#, alg: c.alg, sign: c.sign).split(separator: ".")
            let forged = "\(parts[0]).\(parts[1]).\(other[2])"
            #expect(Self.refusal(Self.run(headers: Self.bearer(forged), directory: dir).0)?.body == "Invalid signature")
        }
        // Another RSA key; an RSA key for an ES token.
        let wrong = Self.directory([
            JWTSecret(key: "pk", rsaPublicKey: TestKeys.otherRSA.publicKey.pemRepresentation, algorithm: "RS256")
        ])
        let rs = try TokenMaker.signed(#"{"iss":"pk"}"#, alg: "RS256") {
            try Array(TestKeys.rsa.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation)
        }
        #expect(Self.refusal(Self.run(headers: Self.bearer(rs), directory: wrong).0)?.body == "Invalid signature")
        let mismatched = Self.directory([JWTSecret(key: "pk", rsaPublicKey: rsaPEM, algorithm: "ES256")])
        let es = try TokenMaker.signed(#"{"iss":"pk"}"#, alg: "ES256") {
            try Array(TestKeys.p256.signature(for: SHA256.hash(data: $0)).rawRepresentation)
        }
        #expect(Self.refusal(Self.run(headers: Self.bearer(es), directory: mismatched).0)?.body == "Invalid signature")
        // An ES credential without a key (Kong accepts it): Invalid key/secret.
        let keyless = Self.directory([JWTSecret(key: "pk", algorithm: "ES256")])
        #expect(Self.refusal(Self.run(headers: Self.bearer(es), directory: keyless).0)?.body == "Invalid key/secret")
    }

    @Test func hmacAlgorithmsAndKeys() {
        for alg in ["HS256", "HS384", "HS512"] {
            let dir = Self.directory([JWTSecret(key: "k", secret: Self.secret, algorithm: alg)])
            let token = TokenMaker.hs(#"{"iss":"k"}"#, secret: Self.secret, alg: alg)
            #expect(Self.run(headers: Self.bearer(token), directory: dir).0 == .proceed, "\(alg)")
        }
        // Kong pads base64url before decoding: padded segments read the same.
        let parts = Self.valid.split(separator: ".").map(String.init)
        // (The signed input is the first two parts as they came: only the signature may be padded.)
        let padded =
            parts[0] + "." + parts[1] + "." + parts[2] + String(repeating: "=", count: (4 - parts[2].count % 4) % 4)
        #expect(Self.run(headers: Self.bearer(padded)).0 == .proceed)
        #expect(JWTPublicKey.parse("not a key").failureMessage == "invalid key")
        let small = try! _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024))
        #expect(
            JWTPublicKey.parse(small.publicKey.pemRepresentation).failureMessage
                == "invalid key: an RSA key must have at least 2048 bits"
        )
        #expect(JWTPublicKey.parse(TestKeys.rsa.pemRepresentation).failureMessage == nil)
        #expect(JWTPublicKey.parse(TestKeys.rsa.publicKey.pkcs1PEMRepresentation).failureMessage == nil)
        #expect(JWTPublicKey.parse(TestKeys.p384.pemRepresentation).failureMessage == nil)
    }

    @Test func nginxBase64() {
        #expect(NginxBase64.decode("aGk", .url) == Array("hi".utf8))
        #expect(NginxBase64.decode("aGk=junk", .url) == Array("hi".utf8))
        #expect(NginxBase64.decode("a", .url) == nil)
        #expect(NginxBase64.decode("-_8", .url) == [0xFB, 0xFF])
        #expect(NginxBase64.decode("-_8", .standard) == nil)
        #expect(NginxBase64.decode("+/8=", .standard) == [0xFB, 0xFF])
    }
}

extension Result where Failure == JWTPublicKey.Problem {
    var failureMessage: String? {
        if case .failure(let p) = self { return p.message }
        return nil
    }
}
