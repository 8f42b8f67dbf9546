import Testing
import TurnpikeEngine
import TurnpikeModel
import TurnpikePlugins
import TurnpikeServer

/// Kong's scope precedence (kong/runloop/plugins_iterator.lua) as the snapshot resolves it per route: per plugin
/// name the most specific enabled instance runs (route+service, route, service, global); a
/// disabled instance does not hide a less specific enabled one. Each instance is told apart by
/// its key name.
@Suite struct PluginPrecedenceTests {
    static let config = """
        _format_version: "3.0"
        services:
          - name: s1
            url: http://127.0.0.1:1
            plugins:
              - name: key-auth
                config: {key_names: [service-s1]}
            routes:
              - name: r-plain
                paths: [/plain]
              - name: r-own
                paths: [/own]
                plugins:
                  - name: key-auth
                    config: {key_names: [route-own]}
              - name: r-off
                paths: [/off]
                plugins:
                  - name: key-auth
                    enabled: false
                    config: {key_names: [route-off]}
              - name: r-both
                paths: [/both]
          - name: s2
            url: http://127.0.0.1:2
            routes:
              - name: r-s2
                paths: [/s2]
          - name: s3
            url: http://127.0.0.1:3
            plugins:
              - name: key-auth
                enabled: false
                config: {key_names: [service-s3-off]}
            routes:
              - name: r-s3
                paths: [/s3]
        routes:
          - name: r-alone
            paths: [/alone]
        plugins:
          - name: key-auth
            config: {key_names: [global]}
          - name: key-auth
            route: r-both
            service: s1
            config: {key_names: [route-and-service]}
          - name: key-auth
            route: r-both
            config: {key_names: [route-both]}
          - name: acl
            route: r-plain
            config: {allow: [g]}
        """

    static func snapshot() throws -> Snapshot {
        guard case .valid(let snapshot) = ConfigLoader().compile(Array(Self.config.utf8), file: "precedence.yaml")
        else {
            Issue.record("config did not load: \(ConfigLoader().compile(Array(Self.config.utf8), file: "p.yaml"))")
            throw CancellationError()
        }
        return snapshot
    }

    static func keyNames(_ snapshot: Snapshot, route: String) -> [[String]] {
        guard let i = snapshot.model.routes.firstIndex(where: { $0.name == route }) else { return [] }
        return snapshot.chains[i].access.compactMap { ($0 as? KeyAuthPlugin)?.config.keyNames }
    }

    @Test(arguments: [
        ("r-plain", "service-s1"),  // service beats global
        ("r-own", "route-own"),  // route beats service
        ("r-off", "service-s1"),  // a disabled route instance does not hide the service's
        ("r-both", "route-and-service"),  // route+service beats route
        ("r-s2", "global"),  // no service instance: global
        ("r-s3", "global"),  // the service's is disabled: global
        ("r-alone", "global"),  // a route without service: global
    ])
    func mostSpecificEnabledInstanceRuns(route: String, expected: String) throws {
        let snapshot = try Self.snapshot()
        #expect(Self.keyNames(snapshot, route: route) == [[expected]])
    }

    @Test func differentPluginsStackInPriorityOrder() throws {
        let snapshot = try Self.snapshot()
        let i = try #require(snapshot.model.routes.firstIndex { $0.name == "r-plain" })
        #expect(snapshot.chains[i].access.map(\.name) == ["key-auth", "acl"])
        #expect(snapshot.globalChains.access.map(\.name) == ["key-auth"])
    }
}

/// Consumer-scoped instances (Kong's `lookup_cfg`): per plugin name, route+service+consumer,
/// route+consumer, service+consumer, route+service, consumer, route, service, global. Each
/// request-termination instance is told apart by its message.
@Suite struct ConsumerScopePrecedenceTests {
    static let config = """
        _format_version: "3.0"
        consumers:
          - username: alice
          - username: bob
          - username: carol
          - username: dave
        services:
          - name: s1
            url: http://127.0.0.1:1
            routes:
              - name: r1
                paths: [/r1]
              - name: r-rs
                paths: [/rs]
          - name: s2
            url: http://127.0.0.1:2
            routes:
              - name: r2
                paths: [/r2]
        plugins:
          - name: request-termination
            config: {message: global}
          - name: request-termination
            route: r-rs
            service: s1
            config: {message: route-and-service}
          - name: request-termination
            consumer: alice
            config: {message: alice}
          - name: request-termination
            consumer: bob
            service: s1
            config: {message: bob-s1}
          - name: request-termination
            consumer: bob
            route: r1
            config: {message: bob-r1}
          - name: request-termination
            consumer: carol
            route: r1
            service: s1
            config: {message: carol-r1-s1}
          - name: request-termination
            consumer: carol
            enabled: false
            config: {message: carol-off}
          - name: response-ratelimiting
            consumer: dave
            route: r2
            config: {limits: {videos: {minute: 5}}}
        """

    static func snapshot() throws -> Snapshot {
        let result = ConfigLoader().compile(Array(Self.config.utf8), file: "consumers.yaml")
        guard case .valid(let snapshot) = result else {
            Issue.record("config did not load: \(result)")
            throw CancellationError()
        }
        return snapshot
    }

    /// The message the request-termination slot of `route` gives `consumer` (nil: none runs).
    static func message(_ snapshot: Snapshot, route: String, consumer: String?) throws -> String? {
        let i = try #require(snapshot.model.routes.firstIndex { $0.name == route })
        let id = consumer.flatMap { snapshot.consumer(idOrUsername: $0)?.id }
        let slot = try #require(snapshot.chains[i].access.first { $0.name == "request-termination" })
        let handler: (any AccessHandler)?
        if let scoped = slot as? ConsumerScoped<any AccessHandler> {
            handler = scoped.handler(for: id)
        } else {
            handler = slot
        }
        return (handler as? RequestTerminationPlugin)?.config.message
    }

    @Test(arguments: [
        ("r1", nil, "global"),
        ("r1", "alice", "alice"),  // consumer beats global
        ("r1", "bob", "bob-r1"),  // route+consumer beats service+consumer
        ("r2", "bob", "global"),  // bob's instances are for s1 and r1 only
        ("r1", "carol", "carol-r1-s1"),  // route+service+consumer beats all
        ("r2", "carol", "global"),  // carol's other instance is disabled
        ("r-rs", "alice", "route-and-service"),  // route+service beats consumer alone
        ("r-rs", "bob", "bob-s1"),  // service+consumer beats route+service
        ("r-rs", "dave", "route-and-service"),
    ])
    func mostSpecificInstanceForTheConsumer(route: String, consumer: String?, expected: String) throws {
        let snapshot = try Self.snapshot()
        #expect(try Self.message(snapshot, route: route, consumer: consumer) == expected)
    }

    @Test func aPluginOnlyOnAConsumerRunsOnlyForThatConsumer() throws {
        let snapshot = try Self.snapshot()
        let i = try #require(snapshot.model.routes.firstIndex { $0.name == "r2" })
        let slot = try #require(snapshot.chains[i].access.first { $0.name == "response-ratelimiting" })
        let scoped = try #require(slot as? ConsumerScoped<any AccessHandler>)
        #expect(scoped.handler(for: nil) == nil)
        #expect(scoped.handler(for: snapshot.consumer(idOrUsername: "alice")?.id) == nil)
        #expect(scoped.handler(for: snapshot.consumer(idOrUsername: "dave")?.id) is ResponseRateLimitingPlugin)
        // Its response phase (the costs the upstream reports) is scoped the same way.
        #expect(snapshot.chains[i].response.contains { $0 is ConsumerScoped<any ResponseHandler> })
        // Not on r1: dave's instance is for r2.
        let r1 = try #require(snapshot.model.routes.firstIndex { $0.name == "r1" })
        #expect(!snapshot.chains[r1].access.contains { $0.name == "response-ratelimiting" })
        // Chains stay in priority order: response-ratelimiting (900) before request-termination (2).
        #expect(snapshot.chains[i].access.map(\.name) == ["response-ratelimiting", "request-termination"])
    }
}
