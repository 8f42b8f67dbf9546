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
