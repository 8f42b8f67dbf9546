import Foundation
import Testing
import TurnpikeServer
import TurnpikeTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `--access-log json`: Kong's serializer entry per request, written off the event loops
/// (issue #16's first part): a proxied request with a consumer, and a gateway answer.
@Suite struct AccessLogEndToEndTests {
    static let config = """
        _format_version: "3.0"
        consumers:
          - username: alice
            keyauth_credentials: [{key: alice-key}]
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: logged
                paths: [/logged]
                plugins:
                  - name: key-auth
                  - name: correlation-id
          - name: balanced
            host: two-targets
            retries: 3
            routes:
              - name: balanced
                paths: [/balanced]
        upstreams:
          - name: two-targets
            targets:
              - target: 127.0.0.1:1
              - target: "{{MOCK}}"
        """

    /// A gateway whose access log goes to a temporary file (`path`), closed and removed after.
    static func withLoggingGateway(_ body: (TestGateway, LineWriter, String) async throws -> Void) async throws {
        let path = NSTemporaryDirectory() + "turnpike-access-\(UUID().uuidString).log"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        #expect(fd >= 0)
        let writer = LineWriter(fd: fd, name: "test-access-log")
        defer {
            writer.waitUntilWritten()
            writer.stop()
            close(fd)
            unlink(path)
        }
        var configuration = ProxyConfiguration()
        configuration.accessLog = writer
        try await TestGateway.with(yaml: Self.config, configuration: configuration) { gw in
            try await body(gw, writer, path)
        }
        #expect(writer.dropped == 0)
    }

    @Test func oneKongEntryPerRequest() async throws {
        try await Self.withLoggingGateway { gw, writer, path in
            let ok = try TestClient.get(
                port: gw.proxyPort,
                "/logged/request?a=1&a=2&flag",
                headers: ["apikey": "alice-key", "Authorization": "Basic c2VjcmV0", "X_Ignored": "x"]
            )
            #expect(ok.status == 200)
            let refused = try TestClient.get(port: gw.proxyPort, "/logged/request")
            #expect(refused.status == 401)
            writer.waitUntilWritten()
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 2)
            guard lines.count == 2 else { return }
            #expect(!lines.joined().contains("alice-key"))
            // cjson's bytes: `/` escaped.
            #expect(lines[0].contains(#""uri":"\/logged\/request?a=1&a=2&flag""#))
            let first = try #require(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
            let request = try #require(first["request"] as? [String: Any])
            #expect(request["method"] as? String == "GET")
            // scheme://host:port/uri, the port always written, as Kong's.
            #expect((request["url"] as? String)?.hasSuffix(":\(gw.proxyPort)/logged/request?a=1&a=2&flag") == true)
            #expect((request["url"] as? String)?.hasPrefix("http://") == true)
            let headers = try #require(request["headers"] as? [String: Any])
            #expect(headers["authorization"] as? String == "REDACTED")
            // Turnpike's own: where the route's auth plugins read credentials (key-auth's key).
            #expect(headers["apikey"] as? String == "REDACTED")
            #expect(!lines[0].contains("alice-key"))
            let byQuery = try TestClient.get(port: gw.proxyPort, "/logged/request?apikey=alice-key")
            #expect(byQuery.status == 200)
            writer.waitUntilWritten()
            let all = try String(contentsOfFile: path, encoding: .utf8)
            #expect(all.split(separator: "\n").count == 3)
            #expect(!all.contains("alice-key") && all.contains("apikey=REDACTED"))
            #expect(headers["x-consumer-username"] as? String == "alice")
            #expect(headers["x_ignored"] == nil)
            let query = try #require(request["querystring"] as? [String: Any])
            #expect(query["a"] as? [String] == ["1", "2"] && query["flag"] as? Bool == true)
            #expect((request["size"] as? Int ?? 0) > 0)
            let response = try #require(first["response"] as? [String: Any])
            #expect(response["status"] as? Int == 200)
            #expect((response["size"] as? Int ?? 0) >= ok.body.count)
            #expect((response["headers"] as? [String: Any])?["via"] != nil)
            #expect(first["source"] as? String == "upstream" && first["upstream_status"] as? String == "200")
            #expect(first["upstream_uri"] as? String == "/request?a=1&a=2&flag")
            #expect((first["route"] as? [String: Any])?["name"] as? String == "logged")
            #expect((first["service"] as? [String: Any])?["name"] as? String == "mock")
            #expect((first["consumer"] as? [String: Any])?["username"] as? String == "alice")
            #expect((first["authenticated_entity"] as? [String: Any])?["id"] != nil)
            // correlation-id adds its id, as Kong's `set_serialize_value`.
            #expect((first["correlation_id"] as? String)?.isEmpty == false)
            let tries = try #require(first["tries"] as? [[String: Any]])
            #expect(
                tries.count == 1 && tries[0]["ip"] as? String == "127.0.0.1" && tries[0]["port"] as? Int == gw.mockPort
            )
            let latencies = try #require(first["latencies"] as? [String: Int])
            #expect((latencies["proxy"] ?? -1) >= 0 && (latencies["request"] ?? -1) >= 0)
            // The gateway's own answer: source kong, no upstream, proxy latency -1.
            let second = try #require(JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
            #expect(second["source"] as? String == "kong" && second["upstream_status"] as? String == "")
            #expect((second["latencies"] as? [String: Int])?["proxy"] == -1)
            #expect((second["response"] as? [String: Any])?["status"] as? Int == 401)
            #expect(second["consumer"] == nil && (second["tries"] as? [Any])?.isEmpty == true)
        }
    }

    /// A retried attempt: `tries` has the failed one (502, nothing listens on port 1) and
    /// `upstream_status` lists both, as nginx's `$upstream_status`.
    @Test func retriesAreInTheEntry() async throws {
        try await Self.withLoggingGateway { gw, writer, path in
            // Round robin from a random start: one of two requests tries port 1 first.
            for _ in 0..<2 { #expect(try TestClient.get(port: gw.proxyPort, "/balanced/request").status == 200) }
            writer.waitUntilWritten()
            let entries = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            let retried = entries.first { ($0["tries"] as? [Any])?.count == 2 }
            let tries = try #require(retried?["tries"] as? [[String: Any]])
            #expect(tries[0]["state"] as? String == "failed" && tries[0]["code"] as? Int == 502)
            #expect(tries[0]["port"] as? Int == 1 && tries[1]["state"] == nil)
            #expect(retried?["upstream_status"] as? String == "502, 200")
        }
    }
}
