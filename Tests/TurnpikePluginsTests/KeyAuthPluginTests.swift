import Testing
import TurnpikeModel
import TurnpikePlugins

/// key-auth's access phase on hand-built requests (kong/plugins/key-auth/handler.lua).
@Suite struct KeyAuthPluginTests {
    static let here = SourceLocation(file: "t", line: 1, column: 1)
    static let alice: Consumer = {
        var c = Consumer(
            id: EntityID.v5(namespace: DeclarativeIDs.consumers, name: "alice"),
            location: here,
            path: FieldPath()
        )
        c.username = "alice"
        return c
    }()
    static let anonymous: Consumer = {
        var c = Consumer(
            id: EntityID.v5(namespace: DeclarativeIDs.consumers, name: "anon"),
            location: here,
            path: FieldPath()
        )
        c.username = "anon"
        c.customID = "anon-cid"
        return c
    }()

    static func directory(ttl: Int? = nil) -> Directory {
        Directory(
            keyAuth: [KeyAuthCredential(key: "secret", ttl: ttl)],
            consumer: alice.id,
            consumers: [alice.id: alice, anonymous.id: anonymous]
        )
    }

    func run(
        _ config: KeyAuthConfig = KeyAuthConfig(),
        headers: [(String, String)] = [],
        query: String? = nil,
        method: String = "GET",
        directory: Directory = directory(),
        now: Int = 0
    ) -> (AccessOutcome, AccessContext) {
        var context = AccessContext(
            request: AccessRequest(
                method: method,
                headers: headers.map { ($0.0, $0.1) },
                query: query.map { Substring($0) }
            ),
            now: now
        )
        let outcome = KeyAuthPlugin(config: config).access(&context, directory: directory)
        return (outcome, context)
    }

    @Test func missingWrongAndDuplicateKeys() {
        #expect(message(run().0) == "No API key found in request")
        #expect(message(run(headers: [("apikey", "nope")]).0) == "Unauthorized")
        #expect(message(run(headers: [("apikey", "")]).0) == "No API key found in request")
        #expect(message(run(headers: [("apikey", "a"), ("APIKEY", "b")]).0) == "Duplicate API key found")
        #expect(message(run(query: "apikey=a&apikey=b").0) == "Duplicate API key found")
        guard case .respond(let r) = run().0 else { Issue.record("expected a 401"); return }
        #expect(r.status == 401)
        #expect(r.header("WWW-Authenticate") == "Key")
        var withRealm = KeyAuthConfig()
        withRealm.realm = "kong"
        guard case .respond(let r2) = run(withRealm, headers: [("apikey", "x")]).0 else { Issue.record("401"); return }
        #expect(r2.header("WWW-Authenticate") == "Key realm=\"kong\"")
    }

    @Test func keyInHeaderOrQuery() {
        #expect(run(headers: [("ApiKey", "secret")]).0 == .proceed)
        #expect(run(query: "x=1&apikey=secret").0 == .proceed)
        #expect(run(query: "apikey=s%65cret").0 == .proceed)
        // A wrong header key is not rescued by a right query key: the first location decides.
        #expect(message(run(headers: [("apikey", "bad")], query: "apikey=secret").0) == "Unauthorized")
        // `?apikey` without `=` has no text: the search moves on.
        #expect(message(run(query: "apikey").0) == "No API key found in request")
        var headerOnly = KeyAuthConfig()
        headerOnly.keyInQuery = false
        #expect(message(run(headerOnly, query: "apikey=secret").0) == "No API key found in request")
        var queryOnly = KeyAuthConfig()
        queryOnly.keyInHeader = false
        #expect(message(run(queryOnly, headers: [("apikey", "secret")]).0) == "No API key found in request")
    }

    @Test func underscoreRule() {
        var config = KeyAuthConfig()
        config.keyNames = ["api_key"]
        #expect(run(config, headers: [("api-key", "secret")]).0 == .proceed)
        #expect(run(config, headers: [("API_KEY", "secret")]).0 == .proceed)
        config.keyNames = ["api-key"]
        #expect(message(run(config, headers: [("api_key", "secret")]).0) == "No API key found in request")
    }

    @Test func identityHeadersAndHideCredentials() {
        var config = KeyAuthConfig()
        config.hideCredentials = true
        let (outcome, context) = run(
            config,
            headers: [("apikey", "secret"), ("X-Consumer-ID", "forged")],
            query: "a=1&apikey=secret&b=2"
        )
        #expect(outcome == .proceed)
        let set = Dictionary(context.edits.set.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(set["X-Consumer-ID"] == Self.alice.id.description)
        #expect(set["X-Consumer-Username"] == "alice")
        #expect(set["X-Consumer-Custom-ID"] == nil)
        #expect(set["X-Credential-Identifier"] == EntityID.zero.description)
        #expect(context.edits.remove.contains("X-Consumer-ID"))
        #expect(context.edits.remove.contains("X-Anonymous-Consumer"))
        #expect(context.edits.remove.contains("apikey"))
        #expect(context.edits.query == "a=1&b=2")
    }

    /// Kong's `clear_query_arg` (kong/pdk/service/request.lua, since 3.9) on the PDK test's own
    /// inputs (t/01-pdk/06-service-request/14-clear_query_arg.t, tests 7 and 8) and on the rest
    /// of the URLSearchParams reading: empty pairs dropped, `=` added, bytes outside
    /// `A-Za-z0-9*-._` percent-encoded, invalid escapes kept as text.
    @Test(arguments: [
        ("a=0&d=1&a=2&c=3&a=4&b=5&a=6&d=7&a=8", "d=1&c=3&b=5&d=7"),
        (
            "a=0&c+d=1+2&a=2&c%20d=3%20&a=4&b+d=5&%20a+=6+%20+&+%20+d=+%20+7%20++&a=8",
            "c%20d=1%202&c%20d=3%20&b%20d=5&%20a%20=6%20%20%20&%20%20%20d=%20%20%207%20%20%20"
        ),
        ("x=1&&flag&a&y=%7e~/%zz%4", "x=1&flag=&y=%7E%7E%2F%25zz%254"),
        ("%61=1&b=2", "b=2"),
        ("a=1", ""),
        ("q=caf%C3%A9&n=%2B1", "q=caf%C3%A9&n=%2B1"),
    ])
    func queryIsRewrittenAsKongsClearQueryArg(query: String, expected: String) {
        #expect(QueryString.clearingArgument("a", from: query[...]) == expected)
    }

    /// hide_credentials clears the query even when the key came in a header (key-auth's handler
    /// calls clear_query_arg wherever it found the key).
    @Test func hideCredentialsRewritesTheQueryWhereverTheKeyWas() {
        var config = KeyAuthConfig()
        config.hideCredentials = true
        let (outcome, context) = run(config, headers: [("apikey", "secret")], query: "b=x+y&apikey=other")
        #expect(outcome == .proceed)
        #expect(context.edits.query == "b=x%20y")
        // No query, or an empty one: nothing to rewrite (`/p?` keeps its `?` in Kong).
        #expect(run(config, headers: [("apikey", "secret")]).1.edits.query == nil)
        #expect(run(config, headers: [("apikey", "secret")], query: "").1.edits.query == nil)
    }

    @Test func anonymousFallbackAndExpiredKeys() {
        var config = KeyAuthConfig()
        config.anonymous = "anon"
        let (outcome, context) = run(config, headers: [("apikey", "wrong")])
        #expect(outcome == .proceed)
        let set = Dictionary(context.edits.set.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(set["X-Anonymous-Consumer"] == "true")
        #expect(set["X-Consumer-Custom-ID"] == "anon-cid")
        #expect(set["X-Credential-Identifier"] == nil)
        config.anonymous = "ghost"
        guard case .respond(let r) = run(config).0 else { Issue.record("expected a 500"); return }
        #expect(r.status == 500)
        #expect(r.message == "anonymous consumer ghost is configured but doesn't exist")
        // ttl is an absolute Unix time: at or after it the key is unknown.
        #expect(run(headers: [("apikey", "secret")], directory: Self.directory(ttl: 100), now: 99).0 == .proceed)
        #expect(
            message(run(headers: [("apikey", "secret")], directory: Self.directory(ttl: 100), now: 100).0)
                == "Unauthorized"
        )
    }

    @Test func preflight() {
        var config = KeyAuthConfig()
        config.runOnPreflight = false
        #expect(run(config, method: "OPTIONS").0 == .proceed)
        #expect(message(run(method: "OPTIONS").0) == "No API key found in request")
    }
}
