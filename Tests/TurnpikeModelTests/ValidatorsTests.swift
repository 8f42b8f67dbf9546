import Testing
import TurnpikeModel

@Suite struct ValidatorsTests {
    @Test(arguments: [
        "example.com", "a", "a-b.c_d", "127.0.0.1", "::1", "2001:db8::1", "example.com.", "::ffff:1.2.3.4",
    ])
    func validHosts(host: String) {
        #expect(Validators.host(host) == nil)
    }

    @Test func hostMessages() {
        #expect(Validators.host("example.com:80") == "must not have a port")
        #expect(Validators.host("127.0.0.1:8080") == "must not have a port")
        #expect(Validators.host("exa mple") == "invalid value: exa mple")
        #expect(Validators.host("a-.com") == "invalid value: a-.com")
        #expect(Validators.host("a..b") == "invalid value: a..b")
    }

    @Test func servicePaths() {
        #expect(Validators.path("/ok/path-1_~.x") == nil)
        #expect(Validators.path("relative") == "should start with: /")
        #expect(Validators.path("/a//b") == "must not have empty segments")
        #expect(Validators.path("/a%zz") == "invalid url-encoded value: '%zz'")
        #expect(
            Validators.path("/a b")
                == "invalid path: '/a b' (characters outside of the reserved list of RFC 3986 found)"
        )
    }

    @Test func namesAndTags() {
        #expect(Validators.name("my-service.v1_~") == nil)
        #expect(Validators.name("héllo") == nil)
        #expect(
            Validators.name("my service")
                == "invalid value 'my service': the only accepted ascii characters are alphanumerics or ., -, _, and ~"
        )
        #expect(Validators.tag("team:a b") == nil)
        #expect(Validators.tag("a,b") != nil)
        #expect(Validators.tag("a/b") != nil)
        #expect(Validators.headerName("X-Api_Key1") == nil)
        #expect(
            Validators.headerName("x api")
                == "bad header name 'x api', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
        )
    }

    /// Route `hosts` as Kong's `typedefs.hosts` (kong/db/schema/typedefs.lua) checks them: the
    /// wildcard rules, then kong/tools/ip.lua's `normalize_ip` on the host with its `*` replaced
    /// by `abc` (which Kong's message then shows); `invalid value: …` is for service hosts only.
    @Test(
        arguments: [
            ("*.example.com", nil), ("example.*", nil), ("example.com:8080", nil), ("*.example.com:8000", nil),
            ("*.ex_ample.com", nil), ("-lead.example", nil), ("a.b.", nil), ("localhost", nil),
            ("*.*.com", "invalid wildcard: must have at most one wildcard"),
            ("ex*.com", "invalid wildcard: must be placed at leftmost or rightmost label"),
            ("a.*.com", "invalid wildcard: must be placed at leftmost or rightmost label"),
            ("ex ample.com", "invalid hostname: ex ample.com"),
            ("*.bad host", "invalid hostname: abc.bad host"),
            ("trail-.example", "invalid hostname: trail-.example"),
            ("a..b", "invalid hostname: a..b"), (".a", "invalid hostname: .a"), ("", "invalid hostname: "),
            ("example.com:abc", "invalid hostname: example.com:abc"),
            ("example.com:99999", "invalid port number"), ("example.com:0", nil),
            ("1.2.3.4", nil), ("1.2.3.4:80", nil),
            ("1.2.3.256", "invalid ipv4 address: 1.2.3.256"), ("123", "invalid ipv4 address: 123"),
            ("1.2.3.4:", "invalid ipv4 address: 1.2.3.4:"), ("1.2.3.4:70000", "invalid port number"),
            ("::1", nil), ("[::1]", nil), ("[::1]:8000", nil), ("fe80::1:2:3:4:5:6", nil),
            ("[::1]:99999", "invalid port number"), ("[::1]x", "invalid ipv6 address"),
            ("::ffff:1.2.3.4", "invalid ipv6 address: ::ffff:1.2.3.4"), ("1::2::3", "invalid ipv6 address: 1::2::3"),
            ("1:2:3:4:5:6:7:8:9", "invalid ipv6 address: 1:2:3:4:5:6:7:8:9"),
        ] as [(String, String?)]
    )
    func routeHosts(host: String, message: String?) {
        #expect(RouteRules.host(host) == message)
    }

    @Test func routePaths() {
        #expect(RouteRules.path("/foo") == nil)
        #expect(RouteRules.path("~/foo/(?<id>\\d+)$") == nil)
        #expect(RouteRules.path("foo") == "should start with: / (fixed path) or ~/ (regex path)")
        #expect(RouteRules.path("/a/../b") == "non-normalized path, consider use '/b' instead")
        #expect(RouteRules.path("/a//b") == "must not have empty segments")
        #expect(RouteRules.path("~/a(?=b)")?.hasPrefix("invalid regex: '/a(?=b)'") == true)
        #expect(RouteRules.path("~/a(b") == "invalid regex: '/a(b' (missing closing parenthesis)")
    }

    @Test func legacyPathMigration() {
        #expect(RouteRules.migrateLegacyPath("/plain/path") == "/plain/path")
        #expect(RouteRules.migrateLegacyPath("/users/\\d+") == "~/users/\\d+")
        #expect(RouteRules.migrateLegacyPath("/a.b(c)") == "~/a.b(c)")
    }
}
