import Crypto
import Testing
import TurnpikeEngine
import TurnpikeModel
import TurnpikePlugins
import TurnpikeServer

/// jwt's config and `jwt_secrets` checks (kong/plugins/jwt/schema.lua, daos.lua), and how the
/// credentials render.
@Suite struct JWTConfigTests {
    static func compile(_ yaml: String) -> ConfigLoader.Outcome { ConfigChecking.compile(yaml) }
    static func errors(_ yaml: String) -> [String] { ConfigChecking.errors(yaml) }
    static func plugin(_ config: String) -> [String] { ConfigChecking.pluginErrors("jwt", config) }

    static func load(_ yaml: String) throws -> Snapshot {
        guard case .valid(let snapshot) = Self.compile(yaml) else { throw ConfigChecking.NotLoaded() }
        return snapshot
    }

    static let pem = P256.Signing.PrivateKey().publicKey.pemRepresentation

    @Test func pluginConfigChecks() {
        #expect(Self.plugin("{}") == [])
        #expect(
            Self.plugin("{claims_to_verify: [exp, nbf], maximum_expiration: 60, cookie_names: [a], realm: r}") == []
        )
        #expect(
            Self.plugin("{maximum_expiration: -1}") == [
                "k.yaml:4:34: plugins[0] (jwt).config.maximum_expiration: value should be between 0 and 31536000"
            ]
        )
        #expect(
            Self.plugin("{claims_to_verify: [iat]}") == [
                "k.yaml:4:33: plugins[0] (jwt).config.claims_to_verify[0]: expected one of: exp, nbf"
            ]
        )
        let conditional = Self.plugin("{claims_to_verify: [nbf], maximum_expiration: 60}")
        #expect(conditional.count == 2)
        #expect(conditional.contains { $0.hasSuffix("config.claims_to_verify: expected to contain: exp") })
        #expect(
            conditional.contains {
                $0.hasSuffix("failed conditional validation given value of field 'config.maximum_expiration'")
            }
        )
        // Kong lets a maximum through when claims_to_verify is null.
        #expect(Self.plugin("{maximum_expiration: 60}") == [])
        #expect(Self.plugin("{secret_is_base64: null}").count == 1)
        #expect(
            Self.errors("consumers: [{username: c}]\nplugins:\n  - name: jwt\n    consumer: c\n").contains {
                $0.hasSuffix("consumer: value must be null")
            }
        )
    }

    @Test func credentialChecks() {
        let base = "consumers:\n  - username: c\n    jwt_secrets:\n"
        #expect(Self.errors(base + "      - {key: k1, secret: s1}\n      - {algorithm: HS512}\n") == [])
        #expect(
            Self.errors(base + "      - {key: k1, algorithm: RS256}\n") == [
                "k.yaml:5:9: consumers[0].jwt_secrets[0]: failed conditional validation given value of field 'algorithm'",
                "k.yaml:5:9: consumers[0].jwt_secrets[0].rsa_public_key: required field missing",
            ]
        )
        let invalid = Self.errors(base + "      - {key: k1, algorithm: EdDSA, rsa_public_key: nope}\n")
        #expect(invalid.count == 2 && invalid.contains { $0.hasSuffix("rsa_public_key: invalid key") })
        #expect(
            Self.errors(base + "      - {key: k1, algorithm: HS100}\n") == [
                "k.yaml:5:30: consumers[0].jwt_secrets[0].algorithm: expected one of: HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512, EdDSA"
            ]
        )
        // ES keys are optional (as in Kong) but checked when given (Kong: a 500 at request time).
        #expect(Self.errors(base + "      - {key: k1, algorithm: ES256}\n") == [])
        #expect(Self.errors(base + "      - {key: k1, algorithm: ES256, rsa_public_key: nope}\n").count == 1)
        #expect(
            Self.errors(base + "      - {key: same}\n  - username: d\n    jwt_secrets: [{key: same}]\n") == [
                "k.yaml:7:19: consumers[1].jwt_secrets[0]: uniqueness violation: 'jwt_secrets' entity with key set to 'same' already declared"
            ]
        )
        #expect(Self.errors(base + "      - {key: k1, secret: \"\"}\n").count == 1)
        // Flat, with a consumer reference.
        #expect(Self.errors("consumers: [{username: c}]\njwt_secrets: [{consumer: c, key: k}]\n") == [])
    }

    @Test func keysDerivedAndSecretsNeverShown() throws {
        let yaml =
            "consumers:\n  - username: c\n    jwt_secrets:\n      - {secret: top-secret}\n"
            + "      - {key: mine, algorithm: ES256, rsa_public_key: \(Self.pem.debugDescription)}\n"
        let snapshot = try Self.load(yaml)
        let again = Self.compile(yaml)
        let rendered = snapshot.rendered().json
        #expect(!rendered.contains("top-secret"))
        #expect(rendered.contains("\"secret\":\"<redacted>\""))
        // The derived key: the credential id's hex digits, the same at every load.
        let credentials = snapshot.model.credentials[JWTSecret.self]
        let derived = try #require(credentials.first?.fields.key)
        #expect(derived == credentials[0].id.hexDigits && derived.count == 32)
        guard case .valid(let second) = again else { return }
        #expect(second.model.credentials[JWTSecret.self].first?.fields.key == derived)
        #expect(rendered.contains(derived) && rendered.contains("\"key\":\"mine\""))
        // A private key given for the public one works, and is never shown.
        let privatePEM = P256.Signing.PrivateKey().pemRepresentation
        let withPrivate =
            "consumers:\n  - username: c\n    jwt_secrets:\n"
            + "      - {key: p, algorithm: ES256, rsa_public_key: \(privatePEM.debugDescription)}\n"
        #expect(try !Self.load(withPrivate).rendered().json.contains("PRIVATE"))
        // A credential without a secret gets one nobody outside the process knows, stable here.
        #expect(credentials[1].fields.secret?.count == 64)
        #expect(second.model.credentials[JWTSecret.self][1].fields.secret == credentials[1].fields.secret)
    }
}
