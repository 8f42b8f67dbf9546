import Testing
import TurnpikeEngine
import TurnpikeModel
import TurnpikePlugins
import TurnpikeServer

/// hmac-auth's config and `hmacauth_credentials` checks (kong/plugins/hmac-auth/schema.lua,
/// daos.lua).
@Suite struct HMACAuthConfigTests {
    static func compile(_ yaml: String) -> ConfigLoader.Outcome { ConfigChecking.compile(yaml) }
    static func errors(_ yaml: String) -> [String] { ConfigChecking.errors(yaml) }
    static func plugin(_ config: String) -> [String] { ConfigChecking.pluginErrors("hmac-auth", config) }

    @Test func pluginConfigChecks() {
        #expect(Self.plugin("{}") == [])
        #expect(
            Self.plugin(
                "{clock_skew: 10, enforce_headers: [date], algorithms: [hmac-sha1], validate_request_body: true}"
            )
                == []
        )
        #expect(
            Self.plugin("{clock_skew: 0}") == [
                "k.yaml:4:26: plugins[0] (hmac-auth).config.clock_skew: value must be greater than 0"
            ]
        )
        #expect(
            Self.plugin("{algorithms: [hmac-md5]}") == [
                "k.yaml:4:27: plugins[0] (hmac-auth).config.algorithms[0]: expected one of: hmac-sha1, hmac-sha256, hmac-sha384, hmac-sha512"
            ]
        )
        #expect(
            Self.errors("consumers: [{username: c}]\nplugins:\n  - name: hmac-auth\n    consumer: c\n").contains {
                $0.hasSuffix("consumer: value must be null")
            }
        )
    }

    @Test func credentialChecksAndRedaction() {
        let base = "consumers:\n  - username: c\n    hmacauth_credentials:\n"
        #expect(
            Self.errors(base + "      - {secret: s}\n") == [
                "k.yaml:5:9: consumers[0].hmacauth_credentials[0].username: required field missing"
            ]
        )
        #expect(
            Self.errors(
                base + "      - {username: bob}\n  - username: d\n    hmacauth_credentials: [{username: bob}]\n"
            )
            .count == 1
        )
        guard
            case .valid(let snapshot) = Self.compile(
                base + "      - {username: bob, secret: hush}\n      - {username: al}\n"
            )
        else {
            Issue.record("did not load")
            return
        }
        let rendered = snapshot.rendered().json
        #expect(!rendered.contains("hush") && rendered.contains("\"username\":\"bob\""))
        // Without a secret: one nobody outside the process knows.
        #expect(snapshot.model.credentials[HMACAuthCredential.self][1].fields.secret?.count == 64)
    }
}
