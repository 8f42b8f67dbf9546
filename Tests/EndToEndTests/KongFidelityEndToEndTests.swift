import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// Behaviours pinned to Kong 3.10's source (commit 22246ef28c): each test names the file its
/// expectation comes from. Real gateway, real upstreams, loopback.
@Suite struct KongFidelityEndToEndTests {
    static let config = """
        _format_version: "3.0"
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: open
                paths: [/open]
              - name: hidden
                paths: [/hidden]
                plugins:
                  - name: key-auth
                    config:
                      hide_credentials: true
          - name: balanced
            host: named-upstream
            retries: 3
            routes:
              - name: balanced
                paths: [/balanced]
        upstreams:
          - name: named-upstream
            host_header: api.example.org
            targets:
              - target: 127.0.0.1:1
              - target: "{{MOCK}}"
        consumers:
          - username: alice
            keyauth_credentials:
              - key: secret
        """

    func withGateway(_ yaml: String = Self.config, _ body: (TestGateway) async throws -> Void) async throws {
        try await TestGateway.with(yaml: yaml, body)
    }

    static func echoedHeaders(_ r: TestClient.Response) -> [String: String] {
        (r.json?["headers"] as? [String: String]) ?? [:]
    }

    /// kong/init.lua `Kong.access` -> kong/runloop/handler.lua `access.before`: without a route
    /// the router's 404 goes out before any access handler, so a global key-auth never makes it a
    /// 401 (also for the admin paths asked on the proxy port).
    @Test func noRouteAnswers404BeforeAnyAccessHandler() async throws {
        try await withGateway(Self.config + "\nplugins:\n  - name: key-auth\n") { gw in
            for path in ["/nowhere", "/services", "/status"] {
                let r = try TestClient.get(port: gw.proxyPort, path)
                #expect(r.status == 404, "\(path)")
                #expect(r.json?["message"] as? String == "no Route matched with those values")
                #expect(r.header("www-authenticate") == nil)
            }
            // The global key-auth still guards routes that do not switch it off.
            #expect(try TestClient.get(port: gw.proxyPort, "/open/request").status == 401)
            #expect(
                try TestClient.get(port: gw.proxyPort, "/open/request", headers: ["apikey": "secret"]).status == 200
            )
        }
    }

    /// nginx refuses TRACE once the head is read (ngx_http_request.c), before any Kong phase;
    /// Kong's error page (kong/error_handlers.lua) renders the 405. It never reaches an upstream.
    @Test func traceIsRefusedWith405() async throws {
        try await withGateway { gw in
            let client = try TestClient(port: gw.proxyPort)
            try client.send("TRACE /open/request HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n")
            let r = try client.readResponse()
            #expect(r.status == 405)
            #expect(r.json?["message"] as? String == "Method not allowed")
            // No echo from the upstream, and the connection stays usable.
            #expect(r.json?["method"] == nil)
            try client.send("GET /open/request HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(try client.readResponse().status == 200)
        }
    }

    /// key-auth's handler calls `kong.service.request.clear_query_arg` wherever the key was found
    /// (kong/plugins/key-auth/handler.lua); the PDK re-encodes the query as URLSearchParams with
    /// `%20` for spaces (kong/pdk/service/request.lua).
    @Test func hideCredentialsRewritesTheQueryAsKong() async throws {
        try await withGateway { gw in
            let fromQuery = try TestClient.get(port: gw.proxyPort, "/hidden/request?b=x+y&apikey=secret&c=%7e&flag")
            #expect(fromQuery.status == 200)
            #expect(fromQuery.json?["url"] as? String == "http://127.0.0.1:\(gw.mockPort)/request?b=x%20y&c=%7E&flag=")
            let fromHeader = try TestClient.get(
                port: gw.proxyPort,
                "/hidden/request?apikey=other&d=%41",
                headers: ["apikey": "secret"]
            )
            #expect(fromHeader.status == 200)
            #expect(fromHeader.json?["url"] as? String == "http://127.0.0.1:\(gw.mockPort)/request?d=A")
            #expect(Self.echoedHeaders(fromHeader)["apikey"] == nil)
        }
    }

    /// nginx's `ignore_invalid_headers` / `underscores_in_headers off` (Kong keeps both defaults):
    /// a client's `X_Consumer_ID` never reaches the upstream, where a framework reading `_` as
    /// `-` would take it for the identity header.
    @Test func headersWithUnderscoresAreDroppedAsNginxDoes() async throws {
        try await withGateway { gw in
            let r = try TestClient.get(
                port: gw.proxyPort,
                "/hidden/request",
                headers: ["apikey": "secret", "X_Consumer_ID": "spoof", "X_Custom": "1", "X-Kept": "2"]
            )
            #expect(r.status == 200)
            let headers = Self.echoedHeaders(r)
            #expect(headers["x_consumer_id"] == nil && headers["x_custom"] == nil)
            #expect(headers["x-kept"] == "2")
            #expect(headers["x-consumer-username"] == "alice")
        }
    }

    /// kong/runloop/handler.lua, `access.after`: headers named in `Connection` are cleared, and
    /// `Proxy`, `Proxy-Connection`; `TE` goes up as `trailers` only; `Trailer` and
    /// `Proxy-Authenticate` pass.
    @Test func requestHopByHopHeadersAsKong() async throws {
        try await withGateway { gw in
            let r = try TestClient.get(
                port: gw.proxyPort,
                "/open/request",
                headers: [
                    "Connection": "keep-alive, X-Private", "X-Private": "1", "Proxy": "http://evil",
                    "Proxy-Connection": "keep-alive", "TE": "gzip, trailers", "Trailer": "X-Checksum",
                    "Proxy-Authenticate": "Basic realm=x",
                ]
            )
            let headers = Self.echoedHeaders(r)
            #expect(headers["x-private"] == nil)
            #expect(headers["proxy"] == nil)
            #expect(headers["proxy-connection"] == nil)
            #expect(headers["te"] == "trailers")
            #expect(headers["trailer"] == "X-Checksum")
            #expect(headers["proxy-authenticate"] == "Basic realm=x")
        }
    }

    /// kong/runloop/handler.lua, `header_filter.before`: the upstream's `Trailer` reaches the
    /// client only when its TE asked for trailers; `Proxy-Authenticate` passes.
    @Test func responseTrailerOnlyWhenAskedFor() async throws {
        let response =
            "HTTP/1.1 200 OK\r\nTrailer: X-Checksum\r\nProxy-Authenticate: Basic\r\nContent-Length: 2\r\n\r\nok"
        try await ScriptedUpstream.with(response: response) { upstream in
            try await withGateway(Self.scripted(upstream)) { gw in
                let asked = try TestClient.get(port: gw.proxyPort, "/", headers: ["TE": "trailers"])
                #expect(asked.header("trailer") == "X-Checksum")
                #expect(asked.header("proxy-authenticate") == "Basic")
                let plain = try TestClient.get(port: gw.proxyPort, "/")
                #expect(plain.header("trailer") == nil)
                #expect(plain.header("proxy-authenticate") == "Basic")
                #expect(plain.text == "ok")
            }
        }
    }

    /// A config with one catch-all route to `upstream`.
    static func scripted(_ upstream: ScriptedUpstream) -> String {
        """
        _format_version: "3.0"
        services:
          - url: http://127.0.0.1:\(upstream.port)
            routes:
              - paths: [/]
        """
    }

    /// Kong keeps nginx's `large_client_header_buffers 4 8k`: a header line over 8 KiB, or a
    /// section over 32 KiB, is nginx's 494, answered as 400 `Request header or cookie too large`
    /// by kong/error_handlers.lua. The field count is no limit: Kong's plugins read the first 100
    /// (`lua_max_req_headers`), the rest go upstream unread.
    @Test func headerSizeLimitsAsKongsNginx() async throws {
        try await withGateway { gw in
            let long = "GET /open/request HTTP/1.1\r\nHost: a\r\nX-Long: \(String(repeating: "v", count: 8200))\r\n\r\n"
            let client = try TestClient(port: gw.proxyPort)
            try client.send(long)
            let r = try client.readResponse()
            #expect(r.status == 400)
            #expect(r.text.hasPrefix("Request header or cookie too large"))
            #expect(client.isClosedByPeer())

            let fields = (0..<150).map { "X-H\($0): v\r\n" }.joined()
            let manyClient = try TestClient(port: gw.proxyPort)
            try manyClient.send("GET /hidden/request HTTP/1.1\r\nHost: a\r\n" + fields + "apikey: secret\r\n\r\n")
            // The key is field 152: key-auth does not see it, as in Kong.
            let unseen = try manyClient.readResponse()
            #expect(unseen.status == 401)
            #expect(unseen.json?["message"] as? String == "No API key found in request")
            try manyClient.send("GET /hidden/request HTTP/1.1\r\nHost: a\r\napikey: secret\r\n" + fields + "\r\n")
            let seen = try manyClient.readResponse()
            #expect(seen.status == 200)
            #expect(Self.echoedHeaders(seen).count >= 150)
        }
    }

    /// kong/runloop/balancer/init.lua `set_host_header`: the upstream's `host_header`, with
    /// `:port` unless the port is 80 (http) or 443 (https); recomputed for each try, so a retry
    /// to another target carries that target's port.
    @Test func hostHeaderCarriesTheTargetPort() async throws {
        try await withGateway { gw in
            for _ in 0..<6 {
                let r = try TestClient.get(port: gw.proxyPort, "/balanced/request")
                #expect(r.status == 200)
                #expect(Self.echoedHeaders(r)["host"] == "api.example.org:\(gw.mockPort)")
            }
        }
    }
}
