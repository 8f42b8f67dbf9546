import Foundation
import Testing
import TurnpikeModel
import TurnpikePlugins
import TurnpikeServer
import TurnpikeTestSupport

/// A credential kind defined outside turnpike, as a new credential plugin's folder would: its
/// own fields, decoding, rendering and index, nothing else. One line registers it.
struct TokenCredential: CredentialKind {
    var label: String
    var token: String

    static let collection = "token_credentials"
    static let adminCollection = "tokens"
    static let adminNestedCollection = "token"
    static let endpointKey: String? = "label"
    static let uniqueFields = [
        CredentialUniqueField<Self>("label") { $0.label },
        CredentialUniqueField<Self>("token", secret: true) { $0.token },
    ]

    static func decode(_ record: inout Record) -> TokenCredential {
        TokenCredential(
            label: record.string("label", required: true) ?? "",
            token: record.string("token", required: true) ?? ""
        )
    }

    func derivedID(consumer: EntityID) -> CredentialIDSource { .name("test:\(self.label)") }
    var endpointValue: String? { self.label }

    func renderedFields() -> [(String, Rendered)] {
        [("label", .string(self.label)), ("token", .string(Rendered.redacted))]
    }

    struct Index: Sendable {
        let secrets: SecretIndex
        let credentials: [Credential<TokenCredential>]

        func credential(token: String) -> Credential<TokenCredential>? {
            self.secrets.find(token) { self.credentials[$0].token }.map { self.credentials[$0] }
        }
    }

    static func index(_ credentials: [Credential<TokenCredential>]) -> Index {
        Index(secrets: SecretIndex(credentials.map(\.token)), credentials: credentials)
    }
}

/// Authenticates with `X-Token` against `token_credentials`.
struct TokenAuthPlugin: Plugin, AccessHandler {
    static let name = "token-auth-test"
    static let priority = 1200
    typealias Config = EmptyPluginConfig
    var name: String { Self.name }

    func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        guard let token = context.request.header("x-token"),
            let credential = directory.credentials(TokenCredential.self)?.credential(token: token),
            let consumer = directory.consumer(id: credential.consumer)
        else {
            return .respond(LocalResponse(status: 401, message: "Unauthorized"))
        }
        context.setConsumerHeaders(consumer: consumer, credentialID: credential.id)
        return .proceed
    }
}

/// Adding a credential kind touches the kind's own code and one registration line: the decoder
/// (nested and top-level, ids, uniqueness), the snapshot's index, `GET /config`, the admin API
/// (collection, nested collection, owner, DB-less 405s) and reload change counts all follow.
@Suite struct CredentialKindEndToEndTests {
    static let registry = PluginRegistry(
        entries: PluginRegistry.builtIn.entries + [
            PluginRegistry.Entry(TokenAuthPlugin.self) { _, _ in TokenAuthPlugin() }
        ],
        credentialKinds: PluginRegistry.builtIn.credentialKinds + [TokenCredential.self]
    )

    static let config = """
        _format_version: "3.0"
        services:
          - name: svc
            url: http://{{MOCK}}
            routes:
              - name: guarded
                paths: [/guarded]
                plugins:
                  - name: token-auth-test
        consumers:
          - username: alice
            token_credentials:
              - label: laptop
                token: alice-token
          - username: bob
        token_credentials:
          - consumer: bob
            label: phone
            token: bob-token
        """

    static func admin(_ port: Int, _ method: String, _ path: String) async throws -> TestClient.Response {
        try await offThePool {
            let client = try TestClient(port: port)
            try client.send("\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
            return try client.readResponse()
        }
    }

    @Test func aKindDeclaredOutsideTurnpikeWorksEverywhere() async throws {
        try await TestGateway.with(yaml: Self.config, registry: Self.registry) { gw in
            // The plugin finds credentials nested under a consumer and declared top-level.
            let alice = try TestClient.get(port: gw.proxyPort, "/guarded/x", headers: ["x-token": "alice-token"])
            #expect(alice.status == 200)
            #expect(alice.text.contains("alice"))
            let bob = try TestClient.get(port: gw.proxyPort, "/guarded/x", headers: ["x-token": "bob-token"])
            #expect(bob.status == 200)
            #expect(try TestClient.get(port: gw.proxyPort, "/guarded/x", headers: ["x-token": "nope"]).status == 401)

            // Admin: the collection, by endpoint key, under its consumer, its consumer, a write.
            let list = try #require(try await Self.admin(gw.adminPort, "GET", "/tokens").json)
            let data = try #require(list["data"] as? [[String: Any]])
            #expect(data.count == 2)
            #expect(data.allSatisfy { $0["token"] as? String == "<redacted>" })
            #expect(data.allSatisfy { ($0["consumer"] as? [String: Any])?["id"] is String })
            let laptop = try #require(try await Self.admin(gw.adminPort, "GET", "/tokens/laptop").json)
            let id = try #require(laptop["id"] as? String)
            #expect(
                id
                    == EntityID.v5(namespace: DeclarativeIDs.namespace("token_credentials"), name: "test:laptop")
                    .description
            )
            let nested = try #require(try await Self.admin(gw.adminPort, "GET", "/consumers/bob/token").json)
            #expect((nested["data"] as? [[String: Any]])?.map { $0["label"] as? String } == ["phone"])
            let owner = try #require(try await Self.admin(gw.adminPort, "GET", "/tokens/\(id)/consumer").json)
            #expect(owner["username"] as? String == "alice")
            let write = try await Self.admin(gw.adminPort, "POST", "/consumers/alice/token")
            #expect(write.status == 405)
            #expect(
                write.json?["message"] as? String
                    == "cannot create 'token_credentials' entities when not using a database"
            )
            let byKey = try await Self.admin(gw.adminPort, "DELETE", "/tokens/laptop")
            #expect(
                byKey.json?["message"] as? String
                    == "cannot remove 'token_credentials' entities by 'label' when not using a database"
            )

            // GET /config renders the kind after the built-in ones, its secret redacted.
            let config = try #require(try await Self.admin(gw.adminPort, "GET", "/config").json?["config"] as? String)
            #expect(config.contains("token_credentials:"))
            #expect(!config.contains("alice-token") && !config.contains("bob-token"))

            // A clash of the secret field is refused without printing it; the old config serves.
            try gw.writeConfig(Self.config + "\n  - consumer: alice\n    label: spare\n    token: bob-token\n")
            let refused = try await Self.admin(gw.adminPort, "POST", "/reload")
            #expect(refused.status == 400)
            #expect(
                refused.text.contains(
                    "uniqueness violation: 'token_credentials' entity with token set to '<redacted>' already declared"
                )
            )
            #expect(!refused.text.contains("bob-token"))
            #expect(
                try TestClient.get(port: gw.proxyPort, "/guarded/x", headers: ["x-token": "bob-token"]).status == 200
            )

            // Reload change counts name the kind.
            try gw.writeConfig(Self.config.replacingOccurrences(of: "label: phone", with: "label: tablet"))
            let reloaded = try await Self.admin(gw.adminPort, "POST", "/reload")
            #expect(reloaded.status == 200)
            let changes = reloaded.json?["changes"] as? [String: Any]
            let counts = changes?["token_credentials"] as? [String: Int]
            #expect(counts == ["added": 1, "removed": 1, "changed": 0], "\(reloaded.text)")
        }
    }
}
