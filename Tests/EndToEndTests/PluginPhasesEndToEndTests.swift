import NIOCore
import Synchronization
import Testing
import TurnpikeModel
import TurnpikePlugins
import TurnpikeServer
import TurnpikeTestSupport

/// A test plugin with response, body and log phases: stamps every response, upper-cases proxied
/// bodies (and adds a trailer line at their end), records every request.
struct StampPlugin: Plugin, ResponseHandler, BodyHandler, LogPhaseHandler {
    static let name = "stamp"
    static let priority = 800
    static let entries = Mutex<[LogEntry]>([])

    typealias Config = EmptyPluginConfig

    var name: String { Self.name }

    func response(_ context: inout ResponseContext) {
        context.setHeader("X-Stamp", "\(context.status) \(context.consumer?.username ?? "-")")
        context.setHeader("Via", nil)
        context.setHeader("X-Kong-Request-Id", nil)
    }

    func bodyFilter(for response: ResponseContext) -> (any BodyFilter)? {
        UppercaseFilter()
    }

    /// Upper-cases the body and adds `[end]` at its end.
    final class UppercaseFilter: BodyFilter {
        func filter(_ chunk: ByteBuffer, last: Bool) -> ByteBuffer {
            var out = ByteBuffer(bytes: chunk.readableBytesView.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 })
            if last { out.writeString("[end]") }
            return out
        }
    }

    func log(_ entry: LogEntry) {
        Self.entries.withLock { $0.append(entry) }
    }

    static func logged(_ requestPath: String) -> [LogEntry] {
        Self.entries.withLock { $0.filter { $0.path == requestPath } }
    }
}

/// Response and log phases (kong/init.lua: header_filter, body_filter and log run on every response): they run for proxied responses and for the
/// gateway's own answers, including an access-phase 401.
@Suite struct PluginPhasesEndToEndTests {
    static let registry = PluginRegistry(
        entries: PluginRegistry.builtIn.entries + [
            PluginRegistry.Entry(StampPlugin.self) { _, _ in StampPlugin() }
        ],
        credentialKinds: PluginRegistry.builtIn.credentialKinds
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
                  - name: key-auth
        consumers:
          - username: alice
            keyauth_credentials:
              - key: secret
        plugins:
          - name: stamp
        """

    @Test func responseAndLogPhasesRunForEveryAnswer() async throws {
        let gw = try await TestGateway.start(yaml: Self.config, registry: Self.registry)
        do {
            // Access answers 401: later access handlers are skipped, response and log still run.
            let denied = try TestClient.get(port: gw.proxyPort, "/guarded/request/denied")
            #expect(denied.status == 401)
            #expect(denied.header("x-stamp") == "401 -")
            #expect(denied.header("x-kong-request-id") == nil)
            // Proxied: the consumer is known to the response phase; upstream Via is removed.
            let ok = try TestClient.get(port: gw.proxyPort, "/guarded/request/ok", headers: ["apikey": "secret"])
            #expect(ok.status == 200)
            #expect(ok.header("x-stamp") == "200 alice")
            #expect(ok.header("via") == nil)
            // The body handler changed the body: no upstream length, chunked, transformed.
            #expect(ok.header("content-length") == nil)
            #expect(ok.header("transfer-encoding") == "chunked")
            let text = String(decoding: ok.body, as: UTF8.self)
            #expect(text.hasPrefix("{") && text.hasSuffix("[end]"))
            #expect(text.contains("\"METHOD\":\"GET\"") || text.contains("\"METHOD\": \"GET\""), "\(text.prefix(200))")
            // No route: the global instance still runs.
            let none = try TestClient.get(port: gw.proxyPort, "/nowhere")
            #expect(none.status == 404)
            #expect(none.header("x-stamp") == "404 -")

            // The log phase runs after the last byte went out: wait for it (bounded).
            #expect(await eventually { StampPlugin.logged("/nowhere").count == 1 })
            let deniedLog = StampPlugin.logged("/guarded/request/denied")
            #expect(deniedLog.count == 1)
            #expect(deniedLog.first?.status == 401)
            #expect(deniedLog.first?.routeID != nil)
            let okLog = StampPlugin.logged("/guarded/request/ok")
            #expect(okLog.count == 1)
            #expect(okLog.first?.status == 200)
            #expect(okLog.first?.consumerID != nil)
            #expect(okLog.first?.upstreamLatencyMs != nil)
            #expect(StampPlugin.logged("/nowhere").first?.status == 404)
        } catch {
            await gw.stop()
            throw error
        }
        await gw.stop()
    }
}
