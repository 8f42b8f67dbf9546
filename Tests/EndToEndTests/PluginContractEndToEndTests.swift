import NIOCore
import NIOPosix
import Synchronization
import Testing
import TurnpikeModel
import TurnpikePlugins
import TurnpikeServer
import TurnpikeTestSupport

/// A store that answers later, on the event loop that asked, as a network client (Redis) does;
/// the key `never` is never answered.
final class FakeStore: PluginStore {
    let values: [String: String]

    init(values: [String: String]) {
        self.values = values
    }

    func lookup(_ key: String, _ completion: @escaping (String?) -> Void) {
        guard !key.hasPrefix("never"), key != "hang", let loop = MultiThreadedEventLoopGroup.currentEventLoop else {
            return
        }
        let value = self.values[key]
        loop.assumeIsolated().scheduleTask(in: .milliseconds(20)) { completion(value) }
    }
}

/// A test plugin using every capability of the wave-2 contract: an access phase that waits on a
/// store (with a timeout), a local answer with its own body and repeated headers, per-request
/// state across phases, a response phase that reads the response's headers, a body filter chosen
/// per response, and a log phase that sees the state.
struct ContractPlugin: Plugin, AccessHandler, ResponseHandler, BodyHandler, LogPhaseHandler {
    static let name = "contract-test"
    static let priority = 900
    static let logged = Mutex<[String: String]>([:])

    typealias Config = EmptyPluginConfig

    let store: FakeStore
    var name: String { Self.name }

    func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        if context.request.method == "OPTIONS" {
            return .respond(
                LocalResponse(
                    status: 200,
                    headers: [
                        (name: "Content-Type", value: "text/plain"), (name: "Vary", value: "Origin"),
                        (name: "Vary", value: "Accept"),
                    ],
                    body: .bytes(Array("preflight for \(context.request.path)".utf8))
                )
            )
        }
        context.plugins[plugin: Self.name]["path"] = String(context.request.path)
        guard let key = context.request.header("x-lookup") else { return .proceed }
        // `hang` waits long enough for a test to leave first, whatever the machine's load.
        let pending = PendingAccess(timeout: key == "hang" ? .seconds(30) : .milliseconds(300)) { _ in
            // `never-mind`: a timeout that lets the request through (rate-limiting's fault_tolerant).
            key == "never-mind" ? .proceed : .respond(LocalResponse(status: 504, message: "lookup timed out"))
        }
        if key == "again" {
            // A plugin that waits again on the same object: the request ends by its timeout.
            pending.resume { _ in .pending(pending) }
            return .pending(pending)
        }
        self.store.lookup(key) { value in
            pending.resume { context in
                context.edits.setHeader("X-Looked-Up", value ?? "none")
                context.plugins[plugin: Self.name]["looked"] = value ?? "none"
                return value == "deny" ? .respond(LocalResponse(status: 403, message: "denied by lookup")) : .proceed
            }
        }
        return .pending(pending)
    }

    func response(_ context: inout ResponseContext) {
        context.setHeader("X-Upstream-Type", context.headers.first("content-type") ?? "-")
        context.addHeader("Vary", "Origin")
        let looked = context.plugins.value("looked", of: Self.name, as: String.self) ?? "-"
        context.setHeader("X-Ctx-Looked", looked)
        // Framing is the gateway's: a plugin's Content-Length never reaches the client.
        context.setHeader("Content-Length", "999")
    }

    func bodyFilter(for response: ResponseContext) -> (any BodyFilter)? {
        (response.header("content-type") ?? "").hasPrefix("text/plain") ? Shout() : nil
    }

    /// Upper-cases a text body, keeping per-response state (how many pieces it saw).
    final class Shout: BodyFilter {
        var pieces = 0

        func filter(_ chunk: ByteBuffer, last: Bool) -> ByteBuffer {
            var out = ByteBuffer(bytes: chunk.readableBytesView.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 })
            if chunk.readableBytes > 0 { self.pieces += 1 }
            if last { out.writeString(" (\(self.pieces))") }
            return out
        }
    }

    func log(_ entry: LogEntry) {
        let path = entry.plugins.value("path", of: Self.name, as: String.self) ?? "?"
        let looked = entry.plugins.value("looked", of: Self.name, as: String.self) ?? "-"
        Self.logged.withLock { $0[path] = "\(looked) \(entry.status)" }
    }
}

/// The plugin contract wave 2 needs (docs/plugins.md), through a real gateway.
@Suite struct PluginContractEndToEndTests {
    static let registry = PluginRegistry(
        entries: PluginRegistry.builtIn.entries + [
            PluginRegistry.Entry(ContractPlugin.self) { _, stores in
                ContractPlugin(store: stores.store("contract-test") { FakeStore(values: ["a": "alpha", "d": "deny"]) })
            }
        ],
        credentialKinds: PluginRegistry.builtIn.credentialKinds
    )

    static func config(_ text: ScriptedUpstream) -> String {
        """
        _format_version: "3.0"
        services:
          - name: echo
            url: http://{{MOCK}}
            routes:
              - name: echo
                paths: [/echo]
          - name: text
            url: http://127.0.0.1:\(text.port)
            routes:
              - name: text
                paths: [/text]
        plugins:
          - name: contract-test
        """
    }

    static let text = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"

    func withGateway(_ body: (TestGateway) async throws -> Void) async throws {
        try await ScriptedUpstream.with(response: Self.text) { text in
            try await TestGateway.with(yaml: Self.config(text), registry: Self.registry, body)
        }
    }

    @Test func accessWaitsOnAStoreAndTheStateReachesEveryPhase() async throws {
        try await withGateway { gw in
            // (A path of its own: the log record is keyed by path, and tests run in parallel.)
            let r = try TestClient.get(port: gw.proxyPort, "/echo/stored", headers: ["X-Lookup": "a"])
            #expect(r.status == 200)
            #expect((r.json?["headers"] as? [String: String])?["x-looked-up"] == "alpha")
            #expect(r.header("x-ctx-looked") == "alpha")
            #expect(r.header("x-upstream-type")?.hasPrefix("application/json") == true)
            #expect(r.headers("vary") == ["Origin"])
            // JSON: the body filter declined, so the length passes through.
            #expect(r.header("content-length") != nil && r.header("transfer-encoding") == nil)
            // The log phase runs after the last byte went out: wait for it (bounded).
            #expect(await eventually { ContractPlugin.logged.withLock { $0["/echo/stored"] } == "alpha 200" })

            let denied = try TestClient.get(port: gw.proxyPort, "/echo/request", headers: ["X-Lookup": "d"])
            #expect(denied.status == 403)
            #expect(denied.json?["message"] as? String == "denied by lookup")
            #expect(denied.header("x-ctx-looked") == "deny")
        }
    }

    /// The body that arrived while the access phase waited goes up as soon as it resumes.
    @Test func aBodyHeldWhileWaitingIsSentOnResume() async throws {
        try await withGateway { gw in
            let client = try TestClient(port: gw.proxyPort)
            try client.send("POST /echo/held HTTP/1.1\r\nHost: a\r\nX-Lookup: a\r\nContent-Length: 5\r\n\r\nhello")
            let r = try client.readResponse()
            #expect(r.status == 200)
            #expect(r.json?["body"] as? String == "hello")
            // Again on the same connection (the upstream connection is pooled now).
            try client.send("POST /echo/held HTTP/1.1\r\nHost: a\r\nX-Lookup: a\r\nContent-Length: 3\r\n\r\nabc")
            #expect(try client.readResponse().json?["body"] as? String == "abc")
            #expect(r.header("content-length") != "999")
        }
    }

    /// A plugin that waits on the same `PendingAccess` again still ends by its timeout; a client
    /// that leaves while its request waits is logged with status 0.
    @Test func waitingRequestsAlwaysEnd() async throws {
        try await withGateway { gw in
            let again = try TestClient.get(port: gw.proxyPort, "/echo/again", headers: ["X-Lookup": "again"])
            #expect(again.status == 504)
            do {
                let leaving = try TestClient(port: gw.proxyPort)
                try leaving.send("GET /echo/left HTTP/1.1\r\nHost: a\r\nX-Lookup: hang\r\n\r\n")
                // The request is in the gateway, waiting on its store; then the client goes.
                #expect(await eventually(timeout: .seconds(10)) { await gw.proxy.statistics.totals().writing == 1 })
            }
            #expect(await eventually { ContractPlugin.logged.withLock { $0["/echo/left"] } == "- 0" })
        }
    }

    @Test func aStoreThatNeverAnswersTimesOut() async throws {
        try await withGateway { gw in
            let r = try TestClient.get(port: gw.proxyPort, "/echo/request", headers: ["X-Lookup": "never"])
            #expect(r.status == 504)
            #expect(r.json?["message"] as? String == "lookup timed out")
            // The connection and the gateway go on.
            #expect(try TestClient.get(port: gw.proxyPort, "/echo/request").status == 200)
        }
    }

    /// A timeout whose answer is to go on proxies the request once, and the connection serves
    /// the next request (the timeout's wake-up must not resume the chain a second time).
    @Test func aTimeoutThatLetsTheRequestThroughProxiesItOnce() async throws {
        try await withGateway { gw in
            let client = try TestClient(port: gw.proxyPort)
            try client.send("GET /echo/once HTTP/1.1\r\nHost: a\r\nX-Lookup: never-mind\r\n\r\n")
            let r = try client.readResponse()
            #expect(r.status == 200)
            try client.send("GET /echo/next HTTP/1.1\r\nHost: a\r\n\r\n")
            let next = try client.readResponse()
            #expect(next.status == 200)
            #expect((next.json?["path"] as? String)?.hasSuffix("/next") == true)
        }
    }

    @Test func aLocalAnswerWithItsOwnBodyAndRepeatedHeaders() async throws {
        try await withGateway { gw in
            let client = try TestClient(port: gw.proxyPort)
            try client.send("OPTIONS /echo/x HTTP/1.1\r\nHost: a\r\n\r\n")
            let r = try client.readResponse()
            #expect(r.status == 200)
            #expect(r.text == "preflight for /echo/x")
            #expect(r.header("content-type") == "text/plain")
            // The plugin's two Vary lines, then the response phase's own.
            #expect(r.headers("vary") == ["Origin", "Accept", "Origin"])
            #expect(r.header("x-upstream-type") == "text/plain")
        }
    }

    @Test func aBodyFilterChosenPerResponse() async throws {
        try await withGateway { gw in
            let r = try TestClient.get(port: gw.proxyPort, "/text")
            #expect(r.status == 200)
            #expect(r.text == "HELLO (1)")
            #expect(r.header("content-length") == nil && r.header("transfer-encoding") == "chunked")
            // A HEAD has no body to filter: its length passes, and nothing follows its head.
            let client = try TestClient(port: gw.proxyPort)
            try client.send("HEAD /text HTTP/1.1\r\nHost: a\r\n\r\n")
            let head = try client.readResponse(head: true)
            #expect(head.status == 200 && head.header("content-length") == "5")
            try client.send("GET /text HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().text == "HELLO (1)")
        }
    }
}
