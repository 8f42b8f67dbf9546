import Testing
import TurnpikeModel
import TurnpikePlugins

@Suite struct BasicAuthAndACLTests {
    static let here = SourceLocation(file: "t", line: 1, column: 1)
    static let bob: Consumer = {
        var c = Consumer(
            id: EntityID.v5(namespace: DeclarativeIDs.consumers, name: "bob"),
            location: here,
            path: FieldPath()
        )
        c.username = "bob"
        return c
    }()

    static func directory(groups: [String] = []) -> Directory {
        let credential = BasicAuthCredential(
            username: "bob",
            passwordDigest: BasicAuthCredential.digest(password: "pa:ss", consumer: bob.id)
        )
        return Directory(basicAuth: [credential], groups: [bob.id: groups], consumer: bob.id, consumers: [bob.id: bob])
    }

    /// base64("bob:pa:ss")
    static let good = "Ym9iOnBhOnNz"

    @Test func basicAuth() {
        let plugin = BasicAuthPlugin(config: BasicAuthConfig())
        var context = request(headers: [("Authorization", "Basic \(Self.good)")])
        #expect(plugin.access(&context, directory: Self.directory()) == .proceed)
        #expect(context.edits.set.filter { $0.name == "X-Credential-Identifier" }.map(\.value) == ["bob"])
        var lower = request(headers: [("authorization", "basic \(Self.good)")])
        #expect(plugin.access(&lower, directory: Self.directory()) == .proceed)
        // Proxy-Authorization is read first.
        var proxy = request(headers: [
            ("Proxy-Authorization", "Basic Ym9iOndyb25n"), ("Authorization", "Basic \(Self.good)"),
        ])
        #expect(message(plugin.access(&proxy, directory: Self.directory())) == "Unauthorized")
        var none = request()
        guard case .respond(let r) = plugin.access(&none, directory: Self.directory()) else {
            Issue.record("expected a 401")
            return
        }
        #expect(r.status == 401)
        #expect(r.header("WWW-Authenticate") == "Basic realm=\"service\"")
        var garbage = request(headers: [("Authorization", "Basic !!!")])
        #expect(status(plugin.access(&garbage, directory: Self.directory())) == 401)
    }

    @Test func aclAllowDenyAndGroupsHeader() {
        var allow = ACLConfig()
        allow.allow = ["admins"]
        var deny = ACLConfig()
        deny.deny = ["blocked"]
        func run(
            _ config: ACLConfig,
            groups: [String],
            authenticated: Bool = true,
            credential: Bool = true
        ) -> (AccessOutcome, AccessContext) {
            var context = request()
            if authenticated {
                context.setConsumerHeaders(consumer: Self.bob, credentialID: credential ? EntityID.zero : nil)
            }
            let outcome = ACLPlugin(config: config).access(&context, directory: Self.directory(groups: groups))
            return (outcome, context)
        }
        #expect(run(allow, groups: ["admins", "ops"]).0 == .proceed)
        #expect(
            run(allow, groups: ["admins", "ops"]).1.edits.set.contains {
                $0.name == "X-Consumer-Groups" && $0.value == "admins, ops"
            }
        )
        #expect(message(run(allow, groups: ["ops"]).0) == "You cannot consume this service")
        #expect(status(run(allow, groups: []).0) == 403)
        #expect(status(run(allow, groups: [], credential: false).0) == 401)
        #expect(status(run(allow, groups: ["admins"], authenticated: false).0) == 401)
        #expect(run(deny, groups: []).0 == .proceed)
        #expect(status(run(deny, groups: ["blocked"]).0) == 403)
    }
}
