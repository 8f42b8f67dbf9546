import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// proxy-cache (memory) through a real gateway: a Miss goes upstream and is kept, a Hit is
/// answered from memory (the upstream's echo shows the first request, not the second), methods
/// and consumers are kept apart, and a kept response keeps its Content-Length.
@Suite struct ProxyCacheEndToEndTests {
    static let config = """
        _format_version: "3.0"
        consumers:
          - username: alice
            keyauth_credentials: [{key: alice-key}]
          - username: bob
            keyauth_credentials: [{key: bob-key}]
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: cached
                paths: [/cached]
                plugins:
                  - name: proxy-cache
                    config:
                      strategy: memory
                      content_type: [application/json; charset=utf-8]
              - name: personal
                paths: [/personal]
                plugins:
                  - name: key-auth
                  - name: proxy-cache
                    config: {strategy: memory, content_type: [application/json; charset=utf-8]}
        """

    @Test func missHitAndWhatTellsEntriesApart() async throws {
        try await TestGateway.with(yaml: Self.config) { gw in
            let miss = try TestClient.get(port: gw.proxyPort, "/cached/request?b=2&a=1", headers: ["X-Trace": "one"])
            #expect(miss.status == 200)
            #expect(miss.header("x-cache-status") == "Miss")
            let key = miss.header("x-cache-key")
            #expect(key?.count == 64)

            // Same request (arguments in another order): from memory, the upstream not asked.
            let hit = try TestClient.get(port: gw.proxyPort, "/cached/request?a=1&b=2", headers: ["X-Trace": "two"])
            #expect(hit.status == 200)
            #expect(hit.header("x-cache-status") == "Hit")
            #expect(hit.header("x-cache-key") == key)
            #expect(hit.header("age") != nil)
            #expect(hit.body == miss.body)
            #expect((hit.json?["headers"] as? [String: Any])?["x-trace"] as? String == "one")
            #expect(hit.header("content-length") == String(miss.body.count))

            // Not a cached method.
            let post = try TestClient(port: gw.proxyPort)
            try post.send("POST /cached/request HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            #expect(try post.readResponse().header("x-cache-status") == "Bypass")

            // Each consumer has its own entries.
            let alice = try TestClient.get(port: gw.proxyPort, "/personal/request", headers: ["apikey": "alice-key"])
            #expect(alice.header("x-cache-status") == "Miss")
            let bob = try TestClient.get(port: gw.proxyPort, "/personal/request", headers: ["apikey": "bob-key"])
            #expect(bob.header("x-cache-status") == "Miss")
            let aliceAgain = try TestClient.get(
                port: gw.proxyPort,
                "/personal/request",
                headers: ["apikey": "alice-key"]
            )
            #expect(aliceAgain.header("x-cache-status") == "Hit")
            // Authentication still runs before the cache (key-auth's priority is higher).
            #expect(try TestClient.get(port: gw.proxyPort, "/personal/request").status == 401)
        }
    }
}
