import Foundation
import NIOCore
import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// Real gateway, real upstream (`turnpike mock`), real sockets on 127.0.0.1.
@Suite struct ProxyEndToEndTests {
    static let config = """
        _format_version: "3.0"
        services:
          - name: mock
            url: http://{{MOCK}}
            read_timeout: 400
            retries: 0
            routes:
              - name: mocking
                paths: [/mock]
              - name: keep-path
                paths: [/keep]
                strip_path: false
              - name: preserve
                paths: [/preserve]
                preserve_host: true
              - name: by-host
                hosts: [api.example.com]
              - name: only-https
                paths: [/secure]
                protocols: [https]
          - name: with-path
            url: http://{{MOCK}}/base
            routes:
              - name: based
                paths: [/based]
          - name: refused
            url: http://127.0.0.1:1
            retries: 2
            routes:
              - name: refused
                paths: [/refused]
          - name: disabled
            url: http://{{MOCK}}
            enabled: false
            routes:
              - name: disabled
                paths: [/disabled]
          - name: regex
            url: http://{{MOCK}}
            routes:
              - name: users
                paths: ["~/users/[^/]+"]
        routes:
          - name: no-service
            paths: [/orphan]
        """

    static let longURI: String = "GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: a\r\n\r\n"
    static let bigHeaders: String = {
        var s = "GET / HTTP/1.1\r\nHost: a\r\n"
        let value = String(repeating: "v", count: 7000)
        for i in 0..<5 { s += "X-H\(i): \(value)\r\n" }
        return s + "\r\n"
    }()

    func withGateway(_ body: (TestGateway) async throws -> Void) async throws {
        try await TestGateway.with(yaml: Self.config, body)
    }

    @Test func proxiesWithKongHeaders() async throws {
        try await withGateway { gw in
            let r = try TestClient.get(
                port: gw.proxyPort,
                "/mock/request?a=1&b=%20x",
                headers: ["X-Forwarded-For": "10.9.8.7"]
            )
            #expect(r.status == 200)
            let echo = try #require(r.json)
            #expect(echo["path"] as? String == "/request")
            #expect(echo["url"] as? String == "http://127.0.0.1:\(gw.mockPort)/request?a=1&b=%20x")
            let headers = try #require(echo["headers"] as? [String: String])
            #expect(headers["host"] == "127.0.0.1:\(gw.mockPort)")
            #expect(headers["x-forwarded-for"] == "10.9.8.7, 127.0.0.1")
            #expect(headers["x-forwarded-proto"] == "http")
            #expect(headers["x-forwarded-host"] == "localhost")
            #expect(headers["x-forwarded-port"] == "\(gw.proxyPort)")
            #expect(headers["x-forwarded-path"] == "/mock/request")
            #expect(headers["x-forwarded-prefix"] == "/mock")
            #expect(headers["x-real-ip"] == "127.0.0.1")
            #expect(headers["via"] == "1.1 turnpike/0.1.0")
            let id = try #require(r.header("x-kong-request-id"))
            #expect(id.count == 32 && id.allSatisfy(\.isHexDigit))
            #expect(headers["x-kong-request-id"] == id)
            #expect(r.header("via") == "1.1 turnpike/0.1.0")
            #expect(r.header("server") == "turnpike-mock")
            #expect(r.header("x-kong-upstream-latency") != nil)
            #expect(r.header("x-kong-proxy-latency") != nil)
        }
    }

    @Test func stripPathPreserveHostAndServicePath() async throws {
        try await withGateway { gw in
            let keep = try #require(try TestClient.get(port: gw.proxyPort, "/keep/x").json)
            #expect(keep["path"] as? String == "/keep/x")
            let preserved = try #require(try TestClient.get(port: gw.proxyPort, "/preserve/x").json)
            #expect((preserved["headers"] as? [String: String])?["host"] == "localhost")
            let based = try #require(try TestClient.get(port: gw.proxyPort, "/based/request").json)
            #expect(based["path"] as? String == "/base/request")
            let byHost = try #require(
                try TestClient.get(port: gw.proxyPort, "/anything", headers: ["Host": "api.example.com"]).json
            )
            #expect(byHost["path"] as? String == "/anything")
        }
    }

    @Test func noRouteIsKongs404() async throws {
        try await withGateway { gw in
            let r = try TestClient.get(port: gw.proxyPort, "/nothing-here")
            #expect(r.status == 404)
            #expect(r.header("content-type") == "application/json; charset=utf-8")
            let id = try #require(r.header("x-kong-request-id"))
            #expect(r.text == "{\n  \"message\":\"no Route matched with those values\",\n  \"request_id\":\"\(id)\"\n}")
            #expect(r.header("server") == "turnpike/0.1.0")
            let plain = try TestClient.get(port: gw.proxyPort, "/nothing-here", headers: ["Accept": "text/plain"])
            #expect(
                plain.text
                    == "no Route matched with those values\nrequest_id: \(plain.header("x-kong-request-id") ?? "")\n"
            )
            // A disabled service's routes do not route.
            #expect(try TestClient.get(port: gw.proxyPort, "/disabled/x").status == 404)
        }
    }

    @Test func gatewayErrors() async throws {
        try await withGateway { gw in
            let orphan = try TestClient.get(port: gw.proxyPort, "/orphan")
            #expect(orphan.status == 503)
            #expect(orphan.json?["message"] as? String == "no Service found with those values")
            let refused = try TestClient.get(port: gw.proxyPort, "/refused", headers: ["Accept": "*/*"])
            #expect(refused.status == 502)
            #expect(refused.json?["message"] as? String == "An invalid response was received from the upstream server")
            let slow = try TestClient.get(port: gw.proxyPort, "/mock/delay/2000")
            #expect(slow.status == 504)
            // No Accept and no Content-Type: proxy errors default to text/plain (Kong's error_default_type).
            #expect(slow.text.hasPrefix("The upstream server is timing out\n"))
            let https = try TestClient.get(port: gw.proxyPort, "/secure")
            #expect(https.status == 426)
            #expect(https.json?["message"] as? String == "Please use HTTPS protocol")
            #expect(https.header("upgrade") == "TLS/1.2, HTTP/1.1")
            // The upstream's own statuses pass through untouched.
            #expect(try TestClient.get(port: gw.proxyPort, "/mock/status/418").status == 418)
        }
    }

    @Test func keepAliveReusesConnectionsBothWays() async throws {
        try await withGateway { gw in
            let client = try TestClient(port: gw.proxyPort)
            for i in 0..<20 {
                try client.send("GET /mock/request?i=\(i) HTTP/1.1\r\nHost: localhost\r\n\r\n")
                let r = try client.readResponse()
                #expect(r.status == 200)
                #expect((r.json?["query"] as? [String: String])?["i"] == "\(i)")
            }
            // Pipelined requests come back in order.
            try client.send(
                "GET /mock/request?p=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /mock/request?p=2 HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            #expect((try client.readResponse().json?["query"] as? [String: String])?["p"] == "1")
            #expect((try client.readResponse().json?["query"] as? [String: String])?["p"] == "2")
        }
    }

    @Test func forwardedHostFollowsEachRequestOnOneConnection() async throws {
        // The gateway remembers the last Host of a connection: a different one must not reuse it.
        try await withGateway { gw in
            let client = try TestClient(port: gw.proxyPort)
            for (host, forwarded) in [
                ("Example.COM:8080", "example.com"), ("example.com:8080", "example.com"), ("other.test", "other.test"),
                ("[::1]:9", "[::1]"), ("other.test", "other.test"),
            ] {
                try client.send("GET /mock/request HTTP/1.1\r\nHost: \(host)\r\n\r\n")
                let r = try client.readResponse()
                #expect(r.status == 200)
                let headers = r.json?["headers"] as? [String: String]
                #expect(headers?["x-forwarded-host"] == forwarded, "Host: \(host)")
            }
        }
    }

    @Test func bodiesStreamBothWays() async throws {
        try await withGateway { gw in
            let client = try TestClient(port: gw.proxyPort)
            let body = [UInt8](repeating: UInt8(ascii: "a"), count: 3_000_000)
            try client.send("POST /mock/request HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n")
            try client.send(body)
            let r = try client.readResponse()
            #expect(r.json?["bodySize"] as? Int == body.count)
            // Chunked request body.
            try client.send(
                "POST /mock/request HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            )
            let chunked = try client.readResponse()
            #expect(chunked.status == 200, "\(chunked.status) \(chunked.text.prefix(300))")
            #expect(chunked.json?["body"] as? String == "hello world")
            // Large response.
            try client.send("GET /mock/bytes/5000000 HTTP/1.1\r\nHost: x\r\n\r\n")
            let big = try client.readResponse()
            #expect(big.body.count == 5_000_000)
            // HEAD gets headers only, and the connection stays usable.
            try client.send("HEAD /mock/request HTTP/1.1\r\nHost: x\r\n\r\n")
            let head = try client.readResponse(head: true)
            #expect(head.status == 200)
            try client.send("GET /mock/request HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readResponse().status == 200)
        }
    }

    @Test func expectContinueIsAnswered() async throws {
        try await withGateway { gw in
            let client = try TestClient(port: gw.proxyPort)
            try client.send(
                "POST /mock/request HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
            )
            // The interim 100 is skipped by the client; the body follows it.
            try client.send("hello")
            let r = try client.readResponse()
            #expect(r.json?["body"] as? String == "hello")
            #expect((r.json?["headers"] as? [String: String])?["expect"] == nil)
        }
    }

    @Test func webSocketUpgradeRelaysBytesBothWays() async throws {
        try await withGateway { gw in
            let client = try TestClient(port: gw.proxyPort)
            try client.send(
                "GET /mock/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            )
            let handshake = try client.readResponse(head: true)
            #expect(handshake.status == 101)
            #expect(handshake.header("upgrade") == "websocket")
            #expect(handshake.header("connection")?.lowercased() == "upgrade")
            for message in ["\u{81}\u{05}hello", "binary \u{00}\u{01}\u{02}", String(repeating: "z", count: 100_000)] {
                try client.send(message)
                #expect(try client.readBytes(message.utf8.count) == Array(message.utf8))
            }
        }
    }

    @Test func responsesWithoutLengthAreChunkedOrCloseDelimited() async throws {
        try await withGateway { gw in
            // HTTP/1.1: chunked, twice on one connection (the terminator ends each response).
            let client = try TestClient(port: gw.proxyPort)
            for n in [300_000, 10] {
                try client.send("GET /mock/stream/\(n) HTTP/1.1\r\nHost: x\r\n\r\n")
                let r = try client.readResponse()
                #expect(r.status == 200)
                #expect(r.header("transfer-encoding") == "chunked")
                #expect(r.header("content-length") == nil)
                #expect(r.body.count == n)
            }
            // A length passes through unchanged.
            try client.send("GET /mock/bytes/1000 HTTP/1.1\r\nHost: x\r\n\r\n")
            let sized = try client.readResponse()
            #expect(sized.header("content-length") == "1000")
            #expect(sized.header("transfer-encoding") == nil)
            // HTTP/1.0 (keep-alive asked): no chunking, the close ends the body.
            let old = try TestClient(port: gw.proxyPort)
            try old.send("GET /mock/stream/70000 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let r = try old.readResponse()
            #expect(r.status == 200)
            #expect(r.header("transfer-encoding") == nil)
            #expect(r.header("connection") == "close")
            #expect(r.body.count == 70000)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withGateway { gw in
            let client = try TestClient(port: gw.proxyPort)
            // Three requests in one write, one with a body, one answered by the gateway itself.
            try client.send(
                "GET /mock/request?n=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "POST /mock/request?n=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"
                    + "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /mock/request?n=4 HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            let first = try client.readResponse()
            #expect((first.json?["query"] as? [String: String])?["n"] == "1")
            let second = try client.readResponse()
            #expect((second.json?["query"] as? [String: String])?["n"] == "2")
            #expect(second.json?["body"] as? String == "body")
            #expect(try client.readResponse().status == 404)
            let fourth = try client.readResponse()
            #expect((fourth.json?["query"] as? [String: String])?["n"] == "4")
        }
    }

    @Test func declinedUpgradeLeavesTheConnectionUsable() async throws {
        try await withGateway { gw in
            let client = try TestClient(port: gw.proxyPort)
            // The mock answers an upgrade to "h2c" with a plain 200: the connection stays HTTP.
            try client.send(
                "GET /mock/request HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
                    + "GET /mock/request?after=1 HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            #expect(try client.readResponse().status == 200)
            let after = try client.readResponse()
            #expect((after.json?["query"] as? [String: String])?["after"] == "1")
        }
    }

    @Test func slowHeadsAndIdleConnectionsAreClosed() async throws {
        var configuration = ProxyConfiguration()
        configuration.keepAliveTimeout = .milliseconds(500)
        let gw = try await TestGateway.start(yaml: Self.config, configuration: configuration)
        do {
            // A head that never completes (slowloris) is cut off after the timeout.
            let slow = try TestClient(port: gw.proxyPort)
            try slow.send("GET /mock/request HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            let start = ContinuousClock.now
            #expect(slow.isClosedByPeer())
            #expect(ContinuousClock.now - start < .seconds(5))
            // An idle keep-alive connection too, after serving a request.
            let idle = try TestClient(port: gw.proxyPort)
            try idle.send("GET /mock/request HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try idle.readResponse().status == 200)
            #expect(idle.isClosedByPeer())
        } catch {
            await gw.stop()
            throw error
        }
        await gw.stop()
    }

    @Test func responsesAreDated() async throws {
        try await withGateway { gw in
            // IMF-fixdate, as nginx writes it, on gateway answers and on undated upstream answers.
            let pattern =
                /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/
            let local = try TestClient.get(port: gw.proxyPort, "/nowhere")
            #expect(local.status == 404)
            #expect(try local.header("date").flatMap { try pattern.wholeMatch(in: $0) } != nil)
            let proxied = try TestClient.get(port: gw.proxyPort, "/mock/request")
            #expect(proxied.headers("date").count == 1)
            #expect(try proxied.header("date").flatMap { try pattern.wholeMatch(in: $0) } != nil)
        }
    }

    @Test func decodedPathBytesNeverReachAHeaderRaw() async throws {
        try await withGateway { gw in
            // A regex route strips what it matched, CR LF included once decoded: the prefix header
            // goes up percent-encoded, and no header line can be forged through it.
            let r = try TestClient.get(port: gw.proxyPort, "/users/x%0D%0AX-Injected:%201/request")
            #expect(r.status == 200)
            let headers = try #require(r.json?["headers"] as? [String: String])
            #expect(headers["x-injected"] == nil)
            #expect(headers["x-forwarded-prefix"] == "/users/x%0D%0AX-Injected:%201")
        }
    }

    @Test func gatewayErrorsKeepTheConnectionUsable() async throws {
        try await withGateway { gw in
            let client = try TestClient(port: gw.proxyPort)
            for _ in 0..<2 {
                try client.send("GET /refused HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try client.readResponse().status == 502)
            }
            try client.send("GET /mock/request HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readResponse().status == 200)
        }
    }

    @Test func aRequestIsNeverAnsweredTwice() async throws {
        try await withGateway { gw in
            // No route: the 404 goes out at the head; a framing error in the body that follows
            // closes the connection instead of sending a second answer.
            let client = try TestClient(port: gw.proxyPort)
            try client.send("POST /nowhere HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            #expect(try client.readResponse().status == 404)
            try client.send("zz\r\n")
            #expect(client.isClosedByPeer())
        }
    }

    @Test func http10Client() async throws {
        try await withGateway { gw in
            let client = try TestClient(port: gw.proxyPort)
            try client.send("GET /mock/request HTTP/1.0\r\n\r\n")
            let r = try client.readResponse()
            #expect(r.status == 200)
            #expect(r.version == "HTTP/1.0")
            #expect(client.isClosedByPeer())
        }
    }

    @Test(arguments: [
        ("GET /mock/request HTTP/1.1\r\n\r\n", 400),
        ("GET /mock/request HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (
            "POST /mock/request HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400
        ),
        ("POST /mock/request HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc", 400),
        ("POST /mock/request HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n", 400),
        ("POST /mock/request HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("GET /mock/request HTTP/1.1\r\nHost : a\r\n\r\n", 400),
        ("GET /mock/request HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n", 400),
        ("GARBAGE\r\n\r\n", 400),
        (Self.longURI, 414),
        (Self.bigHeaders, 400),
    ])
    func malformedRequestsAreRejectedAndClosed(request: String, status: Int) async throws {
        try await withGateway { gw in
            let client = try TestClient(port: gw.proxyPort)
            try client.send(request)
            let r = try client.readResponse()
            #expect(r.status == status, "\(request.prefix(80))")
            #expect(r.header("connection") == "close")
            #expect(client.isClosedByPeer())
            // The gateway is still serving.
            #expect(try TestClient.get(port: gw.proxyPort, "/mock/request").status == 200)
        }
    }
}
