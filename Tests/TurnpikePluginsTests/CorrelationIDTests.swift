import Testing
import TurnpikeModel

@testable import TurnpikePlugins

/// correlation-id (kong/plugins/correlation-id/handler.lua) on hand-built requests.
@Suite struct CorrelationIDTests {
    static func plugin(_ configure: (inout CorrelationIDConfig) -> Void = { _ in }) -> CorrelationIDPlugin {
        var config = CorrelationIDConfig()
        configure(&config)
        return CorrelationIDPlugin(config: config, stores: PluginStores())
    }

    /// The id sent upstream (nil: the client's was kept) and the one echoed to the client.
    static func run(
        _ plugin: CorrelationIDPlugin,
        headers: [(String, String)] = []
    ) -> (upstream: String?, echoed: String?) {
        var context = AccessContext(
            request: AccessRequest(method: "GET", headers: headers.map { (name: $0.0, value: $0.1) }, query: nil),
            now: 0
        )
        context.request.connection = ConnectionFacts(
            serverAddress: "10.1.1.1",
            serverPort: 8000,
            serial: 7,
            requests: 3
        )
        #expect(plugin.access(&context, directory: Directory()) == .proceed)
        let upstream = context.edits.set.first { $0.name == plugin.config.headerName }?.value
        var response = ResponseContext(
            status: 200,
            requestID: RequestID(high: 0, low: 0),
            consumer: nil,
            plugins: context.plugins
        )
        plugin.response(&response)
        return (upstream, response.set.first { $0.name == plugin.config.headerName }?.value)
    }

    @Test func uuidCounterByDefault() {
        let plugin = Self.plugin()
        let first = Self.run(plugin).upstream ?? ""
        let second = Self.run(plugin).upstream ?? ""
        let parts = first.split(separator: "#")
        #expect(parts.count == 2 && parts[0].count == 36)
        #expect(second.hasPrefix(parts[0] + "#"))
        #expect(Int(second.split(separator: "#")[1]) == (Int(parts[1]) ?? 0) + 1)
        // Not echoed unless asked.
        #expect(Self.run(plugin).echoed == nil)
    }

    @Test func anIncomingIdIsKeptAndEchoed() {
        let plugin = Self.plugin {
            $0.echoDownstream = true
            $0.headerName = "X-Trace"
        }
        let kept = Self.run(plugin, headers: [("x-trace", "abc")])
        #expect(kept.upstream == nil)
        #expect(kept.echoed == "abc")
        // An empty one is replaced.
        let replaced = Self.run(plugin, headers: [("X-Trace", "")])
        #expect(replaced.upstream != nil && replaced.upstream == replaced.echoed)
    }

    /// A global instance on the router's 404 runs no access phase: the request's own id is echoed.
    @Test func echoWithoutAccessUsesTheRequestsHeader() {
        let plugin = Self.plugin { $0.echoDownstream = true }
        var response = ResponseContext(
            status: 404,
            requestID: RequestID(high: 0, low: 0),
            consumer: nil,
            requestHeaders: HeaderFields([(name: "kong-request-id", value: "abc")])
        )
        plugin.response(&response)
        #expect(response.set.first { $0.name == "Kong-Request-ID" }?.value == "abc")
    }

    @Test func generators() {
        let uuid = Self.run(Self.plugin { $0.generator = "uuid" }).upstream ?? ""
        #expect(uuid.count == 36 && uuid.split(separator: "-").count == 5)
        let tracker = Self.run(Self.plugin { $0.generator = "tracker" }).upstream ?? ""
        #expect(tracker.hasPrefix("10.1.1.1-8000-\(GatewayNode.pid)-7-3-"))
        #expect(tracker.split(separator: ".").last?.count == 3)
    }
}
