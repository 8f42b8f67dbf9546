import Foundation
import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// The admin listener in process (real sockets): Kong's shapes, pinned to Kong 3.10's source.
@Suite struct AdminEndToEndTests {
    static let config = """
        _format_version: "3.0"
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: mocking
                paths: [/mock]
        """

    /// One request on a fresh connection, any method, off the cooperative pool (`offThePool`).
    static func send(
        _ port: Int,
        _ method: String,
        _ path: String,
        headers: String = ""
    ) async throws -> TestClient.Response {
        try await offThePool {
            let client = try TestClient(port: port)
            try client.send("\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n\(headers)Content-Length: 0\r\n\r\n")
            return try client.readResponse(head: method == "HEAD")
        }
    }

    static func get(_ port: Int, _ path: String) async throws -> TestClient.Response {
        try await Self.send(port, "GET", path)
    }

    /// kong/api/routes/kong.lua: `GET /` has the node's `node_id` (and `hostname`); the id is
    /// drawn once per process, so a reload does not change it.
    @Test func nodeIDIsStableAcrossReloads() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let before = try #require(try await Self.get(gw.adminPort, "/").json)
            let id = try #require(before["node_id"] as? String)
            #expect(UUID(uuidString: id) != nil)
            #expect((before["hostname"] as? String)?.isEmpty == false)
            try gw.writeConfig(Self.config + "\n  - name: second\n    url: http://{{MOCK}}\n")
            #expect(try await Self.send(gw.adminPort, "POST", "/reload").status == 200)
            #expect(try await Self.get(gw.adminPort, "/").json?["node_id"] as? String == id)
        }
    }

    /// kong/db/schema/entities/routes.lua has `sources` and `destinations` on every route; an
    /// HTTP route cannot set them, so Kong shows them as null.
    @Test func routesShowSourcesAndDestinationsAsNull() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let route = try #require(try await Self.get(gw.adminPort, "/routes/mocking").json)
            #expect(route.keys.contains("sources") && route["sources"] is NSNull)
            #expect(route.keys.contains("destinations") && route["destinations"] is NSNull)
        }
    }

    /// kong/api/api_helpers.lua: a method a known path does not define is 405
    /// `{"message":"Method not allowed"}` (`handle_error` on lapis' "don't know how to respond");
    /// OPTIONS is answered on every path with the methods it defines; unknown paths stay 404.
    @Test(arguments: [
        ("DELETE", "/status", 405), ("POST", "/", 405), ("PUT", "/config", 405), ("GET", "/reload", 405),
        ("HEAD", "/reload", 405), ("PATCH", "/status/ready", 405), ("TRACE", "/services", 405),
        ("PURGE", "/routes/x", 405), ("DELETE", "/nowhere", 404), ("GET", "/nowhere", 404),
        ("GET", "/status", 200), ("HEAD", "/", 200),
    ])
    func undefinedMethodsAre405(method: String, path: String, status: Int) async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let r = try await Self.send(gw.adminPort, method, path)
            #expect(r.status == status)
            if status == 405 && method != "HEAD" { #expect(r.json?["message"] as? String == "Method not allowed") }
            if status == 404 { #expect(r.json?["message"] as? String == "Not found") }
        }
    }

    @Test func optionsListsTheMethodsAndWritesKeepTheirDBLessAnswer() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let collection = try await Self.send(gw.adminPort, "OPTIONS", "/services")
            #expect(collection.status == 204)
            #expect(collection.header("allow") == "GET, HEAD, OPTIONS, POST")
            #expect(collection.header("access-control-allow-methods") == "GET, HEAD, OPTIONS, POST")
            #expect(collection.header("access-control-allow-headers") == "Content-Type")
            let entity = try await Self.send(
                gw.adminPort,
                "OPTIONS",
                "/services/mock",
                headers: "Access-Control-Request-Headers: X-Token\r\n"
            )
            #expect(entity.header("allow") == "DELETE, GET, HEAD, OPTIONS, PATCH, PUT")
            #expect(entity.header("access-control-allow-headers") == "X-Token")
            #expect(try await Self.send(gw.adminPort, "OPTIONS", "/reload").header("allow") == "OPTIONS, POST")
            let write = try await Self.send(gw.adminPort, "DELETE", "/services/mock")
            #expect(write.status == 405)
            #expect(write.json?["code"] as? Int == 12)
        }
    }

    /// kong/api/routes/health.lua: `GET /status` has nginx's connection counters as `server`.
    @Test func statusCountsConnectionsAsNginx() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let idle = try TestClient(port: gw.proxyPort)
            let reading = try TestClient(port: gw.proxyPort)
            try reading.send("GET /mock/request HTTP/1.1\r\nHo")
            let writing = try TestClient(port: gw.proxyPort)
            try writing.send("GET /mock/delay/20000 HTTP/1.1\r\nHost: a\r\n\r\n")
            // Counting happens on the event loops: wait (bounded) until they have seen the bytes.
            let server = try await Self.server(gw) { $0["connections_reading"] == 1 && $0["connections_writing"] == 1 }
            #expect(server["connections_active"] == 3)
            #expect(server["connections_waiting"] == 1)
            #expect(server["connections_accepted"] == 3 && server["connections_handled"] == 3)
            #expect(server["total_requests"] == 1)
            // Answered and back to keep-alive, closed: the counters follow.
            try reading.send("st: a\r\n\r\n")
            #expect(try reading.readResponse().status == 200)
            withExtendedLifetime(idle) {}
            let after = try await Self.server(gw) {
                $0["total_requests"] == 2 && $0["connections_reading"] == 0 && $0["connections_waiting"] == 2
            }
            #expect(after["connections_waiting"] == 2 && after["connections_writing"] == 1)
            _ = writing
        }
    }

    /// Polls `GET /status` (at most 5 s) until `done` holds for its `server` object.
    static func server(_ gw: TestGateway, until done: ([String: Int]) -> Bool) async throws -> [String: Int] {
        var server: [String: Int] = [:]
        _ = try await eventually {
            let status = try await Self.get(gw.adminPort, "/status")
            server = (status.json?["server"] as? [String: Int]) ?? [:]
            return done(server)
        }
        return server
    }

    /// A reload of a file with 20,000 bad entries answers a few kilobytes: the first 100 errors
    /// and their total; `/status` says the same, and the running config keeps serving.
    @Test func rejectedReloadErrorsAreBounded() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            var bad = "_format_version: \"3.0\"\nservices:\n"
            for i in 0..<20_000 { bad += "  - {name: s\(i), host: example.com, port: x}\n" }
            try gw.writeConfig(bad)
            let r = try await Self.send(gw.adminPort, "POST", "/reload")
            #expect(r.status == 400)
            #expect(r.body.count < 16 * 1024, "\(r.body.count) bytes")
            let body = try #require(r.json)
            #expect((body["errors"] as? [Any])?.count == 100)
            #expect(body["errors_total"] as? Int == 20_000)
            let last = try #require(try await Self.get(gw.adminPort, "/status").json?["last_reload"] as? [String: Any])
            #expect((last["errors"] as? [Any])?.count == 100)
            #expect(last["errors_total"] as? Int == 20_000)
            #expect(try await Self.get(gw.proxyPort, "/mock/request").status == 200)
        }
    }
}
