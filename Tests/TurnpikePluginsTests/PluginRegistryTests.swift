import Testing
import TurnpikePlugins

/// The whole plugin order, pinned (Kong's priorities; higher runs first; ties by name descending).
@Suite struct PluginRegistryTests {
    @Test func priorityOrderIsPinned() {
        let entries = PluginRegistry.builtIn.entries
        let priorities = entries.map(\.priority)
        #expect(Set(priorities).count == priorities.count, "priorities must be unique")
        let order = entries.sorted { $0.priority != $1.priority ? $0.priority > $1.priority : $0.name > $1.name }
        #expect(
            order.map(\.name) == [
                "correlation-id", "bot-detection", "cors", "jwt", "key-auth", "basic-auth", "hmac-auth",
                "ip-restriction",
                "request-size-limiting",
                "acl",
                "rate-limiting",
                "response-ratelimiting", "request-transformer", "response-transformer", "proxy-cache",
                "request-termination",
            ]
        )
        #expect(
            order.map(\.priority) == [
                100_001, 2500, 2000, 1450, 1250, 1100, 1030, 990, 951, 950, 910, 900, 801, 800, 100, 2,
            ]
        )
    }

    @Test func unknownAndUnsupportedNames() {
        let registry = PluginRegistry.builtIn
        #expect(registry.entry(named: "key-auth") != nil)
        #expect(
            registry.unknownNameMessage("nope")
                == "plugin 'nope' not enabled; add it to the 'plugins' configuration property"
        )
        #expect(registry.unknownNameMessage("ldap-auth").hasPrefix("plugin 'ldap-auth' is not supported by turnpike"))
        // A plugin that writes to Kong's database as it runs: refused for that reason.
        #expect(
            registry.unknownNameMessage("oauth2")
                == "plugin 'oauth2' cannot run without a database: it issues tokens into Kong's database (oauth2_tokens), which a DB-less node does not have"
        )
        // Kong's no_consumer plugins are the auth plugins and acl; the others may be attached to
        // a consumer.
        #expect(
            registry.entries.filter(\.allowsConsumerScope).map(\.name).sorted() == [
                "correlation-id", "ip-restriction", "proxy-cache", "rate-limiting", "request-size-limiting",
                "request-termination", "request-transformer", "response-ratelimiting", "response-transformer",
            ]
        )
    }
}
