import Foundation
import Testing
import TurnpikeModel

@testable import TurnpikePlugins

/// Kong's log entry (kong/pdk/log.lua `serialize`) and cjson's way of writing it.
@Suite struct KongLogSerializerTests {
    static func facts() -> LogFacts {
        var f = LogFacts(
            requestID: RequestID(high: 0x0123_4567_89ab_cdef, low: 0xfedc_ba98_7654_3210),
            method: "GET",
            rawURI: "/anything/x?b=2&a&a=1&c=%2Fslash+sp",
            scheme: "http",
            host: "api.test",
            port: 8000,
            query: "b=2&a&a=1&c=%2Fslash+sp",
            requestHeaders: [
                ("Host", "api.test"), ("Authorization", "Bearer secret"), ("X-Multi", "1"), ("x-multi", "2"),
                ("Proxy-Authorization", "Basic c2VjcmV0"),
            ],
            requestSize: 120,
            status: 200,
            responseHeaders: [("Content-Type", "application/json"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
            responseSize: 512,
            clientIP: "127.0.0.1",
            startedAtMs: 1_700_000_000_123
        )
        f.upstreamURI = "/x?b=2&a&a=1&c=%2Fslash+sp"
        f.upstreamStatus = "200"
        f.kongLatencyMs = 1
        f.proxyLatencyMs = 12
        f.requestLatencyMs = 14
        f.receiveLatencyMs = 1
        f.tries = [LogFacts.Try(startMs: 1_700_000_000_124, ip: "127.0.0.1", port: 9000, latencyMs: 0)]
        f.credentialID = EntityID(high: 5, low: 6)
        f.route = CJSON.encode(.object([("id", .string("r-1")), ("name", .string("r"))]))
        f.service = CJSON.encode(.object([("id", .string("s-1")), ("name", .string("s"))]))
        f.proxied = true
        f.extra = [("correlation_id", .string("abc"))]
        return f
    }

    static func decoded(_ f: LogFacts) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(KongLogSerializer.line(f))) as? [String: Any])
    }

    @Test func kongsFieldsAndRedaction() throws {
        let entry = try Self.decoded(Self.facts())
        let request = try #require(entry["request"] as? [String: Any])
        #expect(request["id"] as? String == "0123456789abcdeffedcba9876543210")
        #expect(request["url"] as? String == "http://api.test:8000/anything/x?b=2&a&a=1&c=%2Fslash+sp")
        #expect(request["method"] as? String == "GET" && request["size"] as? Int == 120)
        let headers = try #require(request["headers"] as? [String: Any])
        #expect(headers["authorization"] as? String == "REDACTED")
        #expect(headers["proxy-authorization"] as? String == "REDACTED")
        #expect(headers["x-multi"] as? [String] == ["1", "2"])
        let query = try #require(request["querystring"] as? [String: Any])
        #expect(query["b"] as? String == "2")
        #expect((query["a"] as? [Any])?.count == 2 && (query["a"] as? [Any])?.first as? Bool == true)
        #expect(query["c"] as? String == "/slash sp")
        let response = try #require(entry["response"] as? [String: Any])
        #expect(response["status"] as? Int == 200 && response["size"] as? Int == 512)
        #expect((response["headers"] as? [String: Any])?["set-cookie"] as? [String] == ["a=1", "b=2"])
        let latencies = try #require(entry["latencies"] as? [String: Int])
        #expect(latencies == ["kong": 1, "proxy": 12, "request": 14, "receive": 1])
        #expect((entry["tries"] as? [[String: Any]])?.first?["port"] as? Int == 9000)
        #expect((entry["authenticated_entity"] as? [String: String])?["id"] == EntityID(high: 5, low: 6).description)
        #expect((entry["route"] as? [String: String])?["name"] == "r")
        #expect(entry["consumer"] == nil)
        #expect(entry["source"] as? String == "upstream" && entry["upstream_status"] as? String == "200")
        #expect(entry["workspace_name"] as? String == "default" && entry["correlation_id"] as? String == "abc")
        #expect(entry["started_at"] as? Int == 1_700_000_000_123 && entry["client_ip"] as? String == "127.0.0.1")
    }

    @Test func credentialLocationsAreRedacted() throws {
        var f = Self.facts()
        f.requestHeaders.append(("Api_Key", "k1"))
        f.query = "apikey=k2&b=2"
        f.rawURI = "/x?apikey=k2&b=2&api%6Bey=k3"
        f.upstreamURI = "/x?apikey=k2&b=2"
        f.credentialLocations = CredentialLocations(headers: ["api-key"], query: ["apikey"])
        let line = String(decoding: KongLogSerializer.line(f), as: UTF8.self)
        #expect(!line.contains("k1") && !line.contains("k2") && !line.contains("k3"))
        #expect(line.contains(#""uri":"\/x?apikey=REDACTED&b=2&api%6Bey=REDACTED""#))
        let request = try #require(try Self.decoded(f)["request"] as? [String: Any])
        #expect((request["headers"] as? [String: Any])?["api_key"] as? String == "REDACTED")
        #expect((request["querystring"] as? [String: Any])?["apikey"] as? String == "REDACTED")
        #expect((request["querystring"] as? [String: Any])?["b"] as? String == "2")
        // key-auth and jwt say where they read credentials.
        var keyAuth = KeyAuthConfig()
        keyAuth.keyNames = ["apikey", "x-key"]
        #expect(KeyAuthPlugin(config: keyAuth).credentialLocations.query == ["apikey", "x-key"])
        var jwt = JWTConfig()
        jwt.cookieNames = ["session"]
        #expect(JWTPlugin(config: jwt).credentialLocations.headers == ["authorization", "cookie"])
    }

    @Test func whenTheGatewayAnswered() throws {
        var f = Self.facts()
        f.proxied = false
        f.upstreamStatus = ""
        f.proxyLatencyMs = -1
        f.tries = nil
        f.credentialID = nil
        f.route = nil
        f.service = nil
        f.query = nil
        let entry = try Self.decoded(f)
        #expect(entry["source"] as? String == "kong")
        #expect((entry["latencies"] as? [String: Int])?["proxy"] == -1)
        #expect(entry["tries"] == nil && entry["route"] == nil && entry["authenticated_entity"] == nil)
        #expect(String(decoding: KongLogSerializer.line(f), as: UTF8.self).contains(#""querystring":{}"#))
    }

    @Test func cjsonBytes() {
        #expect(String(decoding: CJSON.encode(.string("/a\"b\\c\n\u{7f}é")), as: UTF8.self) == #""\/a\"b\\c\n\u007fé""#)
        #expect(CJSON.number(1.5) == "1.5" && CJSON.number(1.700000000123e18) == "1.700000000123e+18")
        #expect(CJSON.number(0.1 + 0.2) == "0.3" && CJSON.number(5) == "5")
        #expect(
            String(decoding: CJSON.encode(.object([("a", .array([.integer(1), .null, .bool(true)]))])), as: UTF8.self)
                == #"{"a":[1,null,true]}"#
        )
    }
}
