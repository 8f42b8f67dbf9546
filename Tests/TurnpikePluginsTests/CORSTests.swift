import Testing
import TurnpikeModel

@testable import TurnpikePlugins

/// cors (kong/plugins/cors/handler.lua), with the cases of Kong's own spec
/// (spec/03-plugins/13-cors/01-access_spec.lua).
@Suite struct CORSTests {
    static func plugin(_ configure: (inout CORSConfig) -> Void = { _ in }) -> CORSPlugin {
        var config = CORSConfig()
        configure(&config)
        config.compiled = CORSOrigins(config.origins ?? [])
        return CORSPlugin(config: config)
    }

    /// A non-preflight request: the headers its answer gets (`Vary` lines added, the rest set;
    /// nil values are removals).
    static func answer(
        _ plugin: CORSPlugin,
        origin: String?,
        upstream: [(name: String, value: String)] = []
    ) -> (set: [String: String?], added: [String]) {
        var context = AccessContext(request: AccessRequest(method: "GET", headers: [], query: nil), now: 0)
        #expect(plugin.access(&context, directory: Directory()) == .proceed)
        var response = ResponseContext(
            status: 200,
            requestID: RequestID(high: 0, low: 0),
            consumer: nil,
            headers: HeaderFields(upstream),
            requestHeaders: HeaderFields(origin.map { [(name: "Origin", value: $0)] } ?? []),
            plugins: context.plugins
        )
        plugin.response(&response)
        var set: [String: String?] = [:]
        for name in response.remove { set[name] = .some(nil) }
        for (n, v) in response.set { set[n] = v }
        return (set, response.add.map { "\($0.name): \($0.value)" })
    }

    static func preflight(_ plugin: CORSPlugin, headers: [(String, String)]) -> AccessOutcome {
        var context = AccessContext(
            request: AccessRequest(method: "OPTIONS", headers: headers.map { (name: $0.0, value: $0.1) }, query: nil),
            now: 0
        )
        return plugin.access(&context, directory: Directory())
    }

    @Test(
        arguments: [
            ([#"foo.test"#], "http://evil.test", "foo.test"),
            ([#"foo.test"#], "http://foo.test", "foo.test"),
            ([#"foo.test"#], "http://foo.test.evil.test", "foo.test"),
            ([#"foo.test"#], "http://something.foo.test", "foo.test"),
            ([#"foo.test"#], "http://evilfoo.test", "foo.test"),
            ([#"foo.test"#], "http://foo.test:80", "foo.test"),
            ([#"foo.test"#], "http://foo.test:8000", "foo.test"),
            ([#"foo.test"#], "https://foo.test:8000", "foo.test"),
            ([#"foo.test"#], "http://foo.test:90", "foo.test"),
            ([#"foo.test"#], "http://foobtest", "foo.test"),
            ([#"foo.test"#], "https://bar.test:1234", "foo.test"),
            ([#"https://bar.test:1234"#], "http://evil.test", "https://bar.test:1234"),
            ([#"https://bar.test:1234"#], "http://foo.test", "https://bar.test:1234"),
            ([#"https://bar.test:1234"#], "http://foo.test.evil.test", "https://bar.test:1234"),
            ([#"https://bar.test:1234"#], "http://something.foo.test", "https://bar.test:1234"),
            ([#"https://bar.test:1234"#], "http://evilfoo.test", "https://bar.test:1234"),
            ([#"https://bar.test:1234"#], "http://foo.test:80", "https://bar.test:1234"),
            ([#"https://bar.test:1234"#], "http://foo.test:8000", "https://bar.test:1234"),
            ([#"https://bar.test:1234"#], "https://foo.test:8000", "https://bar.test:1234"),
            ([#"https://bar.test:1234"#], "http://foo.test:90", "https://bar.test:1234"),
            ([#"https://bar.test:1234"#], "http://foobtest", "https://bar.test:1234"),
            ([#"https://bar.test:1234"#], "https://bar.test:1234", "https://bar.test:1234"),
            ([#"foo\.test"#], "http://evil.test", nil),
            ([#"foo\.test"#], "http://foo.test", "http://foo.test"),
            ([#"foo\.test"#], "http://foo.test.evil.test", nil),
            ([#"foo\.test"#], "http://something.foo.test", nil),
            ([#"foo\.test"#], "http://evilfoo.test", nil),
            ([#"foo\.test"#], "http://foo.test:80", "http://foo.test"),
            ([#"foo\.test"#], "http://foo.test:8000", "http://foo.test:8000"),
            ([#"foo\.test"#], "https://foo.test:8000", "https://foo.test:8000"),
            ([#"foo\.test"#], "http://foo.test:90", "http://foo.test:90"),
            ([#"foo\.test"#], "http://foobtest", nil),
            ([#"foo\.test"#], "https://bar.test:1234", nil),
            ([#"(.*[./])?foo\.test"#], "http://evil.test", nil),
            ([#"(.*[./])?foo\.test"#], "http://foo.test", "http://foo.test"),
            ([#"(.*[./])?foo\.test"#], "http://foo.test.evil.test", nil),
            ([#"(.*[./])?foo\.test"#], "http://something.foo.test", "http://something.foo.test"),
            ([#"(.*[./])?foo\.test"#], "http://evilfoo.test", nil),
            ([#"(.*[./])?foo\.test"#], "http://foo.test:80", "http://foo.test"),
            ([#"(.*[./])?foo\.test"#], "http://foo.test:8000", "http://foo.test:8000"),
            ([#"(.*[./])?foo\.test"#], "https://foo.test:8000", "https://foo.test:8000"),
            ([#"(.*[./])?foo\.test"#], "http://foo.test:90", "http://foo.test:90"),
            ([#"(.*[./])?foo\.test"#], "http://foobtest", nil),
            ([#"(.*[./])?foo\.test"#], "https://bar.test:1234", nil),
            ([#"(.*[./])?foo\.test:8000"#], "http://evil.test", nil),
            ([#"(.*[./])?foo\.test:8000"#], "http://foo.test", nil),
            ([#"(.*[./])?foo\.test:8000"#], "http://foo.test.evil.test", nil),
            ([#"(.*[./])?foo\.test:8000"#], "http://something.foo.test", nil),
            ([#"(.*[./])?foo\.test:8000"#], "http://evilfoo.test", nil),
            ([#"(.*[./])?foo\.test:8000"#], "http://foo.test:80", nil),
            ([#"(.*[./])?foo\.test:8000"#], "http://foo.test:8000", "http://foo.test:8000"),
            ([#"(.*[./])?foo\.test:8000"#], "https://foo.test:8000", "https://foo.test:8000"),
            ([#"(.*[./])?foo\.test:8000"#], "http://foo.test:90", nil),
            ([#"(.*[./])?foo\.test:8000"#], "http://foobtest", nil),
            ([#"(.*[./])?foo\.test:8000"#], "https://bar.test:1234", nil),
            ([#"https://(.*[.])?foo\.test:8000"#], "http://evil.test", nil),
            ([#"https://(.*[.])?foo\.test:8000"#], "http://foo.test", nil),
            ([#"https://(.*[.])?foo\.test:8000"#], "http://foo.test.evil.test", nil),
            ([#"https://(.*[.])?foo\.test:8000"#], "http://something.foo.test", nil),
            ([#"https://(.*[.])?foo\.test:8000"#], "http://foo.test:80", nil),
            ([#"https://(.*[.])?foo\.test:8000"#], "http://foo.test:8000", nil),
            ([#"https://(.*[.])?foo\.test:8000"#], "https://foo.test:8000", "https://foo.test:8000"),
            ([#"https://(.*[.])?foo\.test:8000"#], "http://foo.test:90", nil),
            ([#"https://(.*[.])?foo\.test:8000"#], "http://foobtest", nil),
            ([#"https://(.*[.])?foo\.test:8000"#], "https://bar.test:1234", nil),
            ([#"^http://(.*[.])?foo\.test(:(80|90))?$"#], "http://evil.test", nil),
            ([#"^http://(.*[.])?foo\.test(:(80|90))?$"#], "http://foo.test", "http://foo.test"),
            ([#"^http://(.*[.])?foo\.test(:(80|90))?$"#], "http://foo.test.evil.test", nil),
            ([#"^http://(.*[.])?foo\.test(:(80|90))?$"#], "http://something.foo.test", "http://something.foo.test"),
            ([#"^http://(.*[.])?foo\.test(:(80|90))?$"#], "http://foo.test:80", "http://foo.test"),
            ([#"^http://(.*[.])?foo\.test(:(80|90))?$"#], "http://foo.test:8000", nil),
            ([#"^http://(.*[.])?foo\.test(:(80|90))?$"#], "https://foo.test:8000", nil),
            ([#"^http://(.*[.])?foo\.test(:(80|90))?$"#], "http://foo.test:90", "http://foo.test:90"),
            ([#"^http://(.*[.])?foo\.test(:(80|90))?$"#], "http://foobtest", nil),
            ([#"^http://(.*[.])?foo\.test(:(80|90))?$"#], "https://bar.test:1234", nil),
            ([#"foo.test"#, #"bar.test"#], "http://evil.test", nil),
            ([#"foo.test"#, #"bar.test"#], "http://foo.test", nil),
            ([#"foo.test"#, #"bar.test"#], "http://foo.test.evil.test", nil),
            ([#"foo.test"#, #"bar.test"#], "http://foo.test:80", nil),
            ([#"foo.test"#, #"bar.test"#], "http://foo.test:8000", nil),
            ([#"foo.test"#, #"bar.test"#], "http://foo.test:90", nil),
            ([#"foo.test"#, #"bar.test"#], "http://foobtest", nil),
            ([#"foo.test"#, #"bar.test"#], "https://bar.test:1234", nil),
            ([#"http://foo.test"#, #"https://bar.test:1234"#], "http://evil.test", nil),
            ([#"http://foo.test"#, #"https://bar.test:1234"#], "http://foo.test", "http://foo.test"),
            ([#"http://foo.test"#, #"https://bar.test:1234"#], "http://foo.test.evil.test", nil),
            ([#"http://foo.test"#, #"https://bar.test:1234"#], "http://foo.test:80", "http://foo.test"),
            ([#"http://foo.test"#, #"https://bar.test:1234"#], "http://foo.test:8000", nil),
            ([#"http://foo.test"#, #"https://bar.test:1234"#], "http://foo.test:90", nil),
            ([#"http://foo.test"#, #"https://bar.test:1234"#], "http://foobtest", nil),
            ([#"http://foo.test"#, #"https://bar.test:1234"#], "https://bar.test:1234", "https://bar.test:1234"),
            ([#"bar.test"#, #"foo\.test"#], "http://evil.test", nil),
            ([#"bar.test"#, #"foo\.test"#], "http://foo.test", "http://foo.test"),
            ([#"bar.test"#, #"foo\.test"#], "http://foo.test.evil.test", nil),
            ([#"bar.test"#, #"foo\.test"#], "http://something.foo.test", nil),
            ([#"bar.test"#, #"foo\.test"#], "http://foo.test:80", "http://foo.test"),
            ([#"bar.test"#, #"foo\.test"#], "http://foo.test:8000", "http://foo.test:8000"),
            ([#"bar.test"#, #"foo\.test"#], "http://foo.test:90", "http://foo.test:90"),
            ([#"bar.test"#, #"foo\.test"#], "http://foobtest", nil),
            ([#"bar.test"#, #"foo\.test"#], "https://bar.test:1234", nil),
            ([#"bar.test"#, #"(.*\.)?foo\.test"#], "http://evil.test", nil),
            ([#"bar.test"#, #"(.*\.)?foo\.test"#], "http://foo.test", "http://foo.test"),
            ([#"bar.test"#, #"(.*\.)?foo\.test"#], "http://foo.test.evil.test", nil),
            ([#"bar.test"#, #"(.*\.)?foo\.test"#], "http://something.foo.test", "http://something.foo.test"),
            ([#"bar.test"#, #"(.*\.)?foo\.test"#], "http://foo.test:80", "http://foo.test"),
            ([#"bar.test"#, #"(.*\.)?foo\.test"#], "http://foo.test:8000", "http://foo.test:8000"),
            ([#"bar.test"#, #"(.*\.)?foo\.test"#], "http://foo.test:90", "http://foo.test:90"),
            ([#"bar.test"#, #"(.*\.)?foo\.test"#], "http://foobtest", nil),
            ([#"bar.test"#, #"(.*\.)?foo\.test"#], "https://bar.test:1234", nil),
            ([#"bar.test"#, #"(.*[./])?foo\.test:8000"#], "http://evil.test", nil),
            ([#"bar.test"#, #"(.*[./])?foo\.test:8000"#], "http://foo.test", nil),
            ([#"bar.test"#, #"(.*[./])?foo\.test:8000"#], "http://foo.test.evil.test", nil),
            ([#"bar.test"#, #"(.*[./])?foo\.test:8000"#], "http://something.foo.test", nil),
            ([#"bar.test"#, #"(.*[./])?foo\.test:8000"#], "http://foo.test:80", nil),
            ([#"bar.test"#, #"(.*[./])?foo\.test:8000"#], "http://foo.test:8000", "http://foo.test:8000"),
            ([#"bar.test"#, #"(.*[./])?foo\.test:8000"#], "https://foo.test:8000", "https://foo.test:8000"),
            ([#"bar.test"#, #"(.*[./])?foo\.test:8000"#], "http://foo.test:90", nil),
            ([#"bar.test"#, #"(.*[./])?foo\.test:8000"#], "http://foobtest", nil),
            ([#"bar.test"#, #"(.*[./])?foo\.test:8000"#], "https://bar.test:1234", nil),
            ([#"bar.test"#, #"https://(.*\.)?foo\.test:8000"#], "http://evil.test", nil),
            ([#"bar.test"#, #"https://(.*\.)?foo\.test:8000"#], "http://foo.test", nil),
            ([#"bar.test"#, #"https://(.*\.)?foo\.test:8000"#], "http://foo.test.evil.test", nil),
            ([#"bar.test"#, #"https://(.*\.)?foo\.test:8000"#], "http://something.foo.test", nil),
            ([#"bar.test"#, #"https://(.*\.)?foo\.test:8000"#], "http://foo.test:80", nil),
            ([#"bar.test"#, #"https://(.*\.)?foo\.test:8000"#], "http://foo.test:8000", nil),
            ([#"bar.test"#, #"https://(.*\.)?foo\.test:8000"#], "https://foo.test:8000", "https://foo.test:8000"),
            ([#"bar.test"#, #"https://(.*\.)?foo\.test:8000"#], "http://foo.test:90", nil),
            ([#"bar.test"#, #"https://(.*\.)?foo\.test:8000"#], "http://foobtest", nil),
            ([#"bar.test"#, #"https://(.*\.)?foo\.test:8000"#], "https://bar.test:1234", nil),
        ] as [([String], String, String?)]
    )
    func kongsOriginTable(origins: [String], origin: String, expected: String?) {
        let plugin = Self.plugin { $0.origins = origins }
        let acao = Self.answer(plugin, origin: origin).set["Access-Control-Allow-Origin"] ?? nil
        #expect(acao == expected, "origins \(origins), Origin \(origin)")
    }

    @Test func preflightDefaults() {
        guard
            case .respond(let r) = Self.preflight(
                Self.plugin(),
                headers: [("Origin", "http://a.test"), ("Access-Control-Request-Method", "GET")]
            )
        else {
            Issue.record("the preflight went upstream")
            return
        }
        #expect(r.status == 200 && r.body == .none)
        #expect(r.header("Access-Control-Allow-Origin") == "*")
        #expect(r.header("Access-Control-Allow-Methods") == "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT")
        #expect(r.header("Access-Control-Allow-Headers") == nil)
        #expect(r.header("Access-Control-Max-Age") == nil)
        #expect(r.header("Access-Control-Allow-Credentials") == nil)
        #expect(r.header("Vary") == nil)
    }

    @Test func preflightWithOptions() {
        let plugin = Self.plugin {
            $0.origins = ["example.test"]
            $0.methods = ["GET", "POST"]
            $0.headers = ["origin", "type", "accepts"]
            $0.exposedHeaders = ["x-auth-token"]
            $0.maxAge = 23
            $0.credentials = true
            $0.privateNetwork = true
        }
        guard
            case .respond(let r) = Self.preflight(
                plugin,
                headers: [
                    ("Origin", "http://a.test"), ("Access-Control-Request-Method", "GET"),
                    ("Access-Control-Request-Private-Network", "true"),
                ]
            )
        else {
            Issue.record("the preflight went upstream")
            return
        }
        #expect(r.header("Access-Control-Allow-Origin") == "example.test")
        #expect(r.header("Access-Control-Allow-Methods") == "GET,POST")
        #expect(r.header("Access-Control-Allow-Headers") == "origin,type,accepts")
        #expect(r.header("Access-Control-Max-Age") == "23")
        #expect(r.header("Access-Control-Allow-Credentials") == "true")
        #expect(r.header("Access-Control-Allow-Private-Network") == "true")
        #expect(r.header("Vary") == "Origin")
        // Exposed headers are for actual answers only.
        #expect(r.header("Access-Control-Expose-Headers") == nil)
    }

    @Test func preflightEchoesRequestedHeadersAndCredentialsWithAStar() {
        let plugin = Self.plugin {
            $0.origins = ["*"]
            $0.credentials = true
        }
        guard
            case .respond(let r) = Self.preflight(
                plugin,
                headers: [
                    ("Origin", "http://my-site.test"), ("Access-Control-Request-Method", "GET"),
                    ("Access-Control-Request-Headers", "origin,accepts"),
                ]
            )
        else {
            Issue.record("the preflight went upstream")
            return
        }
        #expect(r.header("Access-Control-Allow-Headers") == "origin,accepts")
        // Credentials cannot go with `*`: the origin is echoed.
        #expect(r.header("Access-Control-Allow-Origin") == "http://my-site.test")
        #expect(r.header("Access-Control-Allow-Credentials") == "true")
        #expect(r.header("Vary") == "Origin")
    }

    @Test func notPreflights() {
        let plugin = Self.plugin()
        // No Access-Control-Request-Method: an ordinary OPTIONS request, proxied.
        #expect(Self.preflight(plugin, headers: [("Origin", "http://a.test")]) == .proceed)
        #expect(Self.preflight(plugin, headers: [("Access-Control-Request-Method", "GET")]) == .proceed)
        // preflight_continue: proxied, and its answer gets no CORS header.
        let continuing = Self.plugin { $0.preflightContinue = true }
        var context = AccessContext(
            request: AccessRequest(
                method: "OPTIONS",
                headers: [
                    (name: "Origin", value: "http://a.test"), (name: "Access-Control-Request-Method", value: "GET"),
                ],
                query: nil
            ),
            now: 0
        )
        #expect(continuing.access(&context, directory: Directory()) == .proceed)
        var response = ResponseContext(
            status: 200,
            requestID: RequestID(high: 0, low: 0),
            consumer: nil,
            requestHeaders: HeaderFields([(name: "Origin", value: "http://a.test")]),
            plugins: context.plugins
        )
        continuing.response(&response)
        #expect(response.set.isEmpty)
    }

    @Test func actualAnswers() {
        // Defaults: `*`, no Vary.
        let plain = Self.answer(Self.plugin(), origin: "http://a.test")
        #expect(plain.set["Access-Control-Allow-Origin"] == "*")
        #expect(plain.added.isEmpty)
        // A list: Vary added (not replacing the upstream's), exposed headers, credentials.
        let listed = Self.plugin {
            $0.origins = ["http://my-site.test", "https://my-other-site.test:9000"]
            $0.exposedHeaders = ["x-auth-token", "x-other"]
            $0.credentials = true
        }
        let r = Self.answer(listed, origin: "https://my-other-site.test:9000", upstream: [("Vary", "Accept-Encoding")])
        #expect(r.set["Access-Control-Allow-Origin"] == "https://my-other-site.test:9000")
        #expect(r.set["Access-Control-Expose-Headers"] == "x-auth-token,x-other")
        #expect(r.set["Access-Control-Allow-Credentials"] == "true")
        #expect(r.added == ["Vary: Origin"])
        // No match: an upstream's own ACAO is removed.
        let miss = Self.answer(listed, origin: "http://evil.test", upstream: [("Access-Control-Allow-Origin", "*")])
        #expect(miss.set["Access-Control-Allow-Origin"] == .some(nil))
        // `*` among others: all allowed.
        #expect(
            Self.answer(Self.plugin { $0.origins = ["foo.bar", "*"] }, origin: "http://x.test").set[
                "Access-Control-Allow-Origin"
            ] == "*"
        )
        // Without an Origin: headers unless allow_origin_absent is off.
        #expect(Self.answer(Self.plugin(), origin: nil).set["Access-Control-Allow-Origin"] == "*")
        #expect(Self.answer(Self.plugin { $0.allowOriginAbsent = false }, origin: nil).set.isEmpty)
    }
}
