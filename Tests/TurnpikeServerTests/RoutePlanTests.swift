import Testing
import TurnpikeEngine
import TurnpikeModel
import TurnpikeServer

/// The `Host` a service sends upstream, as kong/runloop/balancer/init.lua `set_host_header`
/// computes it: the upstream's `host_header` (else the target's name), with `:port` unless the
/// port is the protocol's default (80 for http).
@Suite struct RoutePlanTests {
    static let config = """
        _format_version: "3.0"
        services:
          - name: plain
            url: http://api.internal:8080
            routes: [{name: plain, paths: [/plain]}]
          - name: plain80
            url: http://api.internal
            routes: [{name: plain80, paths: [/plain80]}]
          - name: headed
            host: headed
            routes: [{name: headed, paths: [/headed]}]
          - name: bare
            host: bare
            routes: [{name: bare, paths: [/bare]}]
        upstreams:
          - name: headed
            host_header: api.example.org
            targets: [{target: "10.0.0.1:80"}, {target: "10.0.0.2:8443"}]
          - name: bare
            targets: [{target: "10.0.0.3:80"}, {target: "[::1]:9000"}]
        """

    static func service(_ route: String) throws -> ServicePlan {
        guard case .valid(let snapshot) = ConfigLoader().compile(Array(Self.config.utf8), file: "hosts.yaml") else {
            Issue.record("config did not load")
            throw CancellationError()
        }
        let i = try #require(snapshot.model.routes.firstIndex { $0.name == route })
        return try #require(snapshot.routePlans[i].service)
    }

    @Test func hostFollowsKongsSetHostHeader() throws {
        #expect(
            try Self.service("plain").upstreamHost(targetHost: "api.internal", targetPort: 8080) == "api.internal:8080"
        )
        #expect(try Self.service("plain80").upstreamHost(targetHost: "api.internal", targetPort: 80) == "api.internal")
        let headed = try Self.service("headed")
        #expect(headed.upstreamHost(targetHost: "10.0.0.1", targetPort: 80) == "api.example.org")
        #expect(headed.upstreamHost(targetHost: "10.0.0.2", targetPort: 8443) == "api.example.org:8443")
        let bare = try Self.service("bare")
        #expect(bare.upstreamHost(targetHost: "10.0.0.3", targetPort: 80) == "10.0.0.3")
        #expect(bare.upstreamHost(targetHost: "::1", targetPort: 9000) == "[::1]:9000")
    }
}
