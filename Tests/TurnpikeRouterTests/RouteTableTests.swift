import Testing
import TurnpikeModel
import TurnpikeRouter

@Suite struct RouteTableTests {
    func request(
        _ method: String = "GET",
        host: String? = "example.com",
        port: Int = 8000,
        path: String = "/",
        headers: [(name: String, value: String)] = [],
        tls: Bool = false,
        sni: String? = nil
    ) -> RouteRequest {
        RouteRequest(method: method, host: host, port: port, path: path, headers: headers, isTLS: tls, sni: sni)
    }

    func matchedName(_ table: RouteTable, _ routes: [Route], _ request: RouteRequest) -> String? {
        table.match(request).map { routes[$0.routeIndex].name ?? "?" }
    }

    @Test func methodsAreExactAndCaseSensitive() throws {
        let routes = [TestRoutes.route("get", methods: ["GET", "HEAD"])]
        let table = try TestRoutes.table(routes)
        #expect(matchedName(table, routes, request("GET")) == "get")
        #expect(matchedName(table, routes, request("HEAD")) == "get")
        #expect(matchedName(table, routes, request("get")) == nil)
        #expect(matchedName(table, routes, request("POST")) == nil)
    }

    @Test func hosts() throws {
        let routes = [
            TestRoutes.route("exact", hosts: ["example.com"]),
            TestRoutes.route("suffix", hosts: ["*.example.com"]),
            TestRoutes.route("prefix", hosts: ["example.*"]),
            TestRoutes.route("port", hosts: ["ported.com:9000"]),
        ]
        let table = try TestRoutes.table(routes)
        #expect(matchedName(table, routes, request(host: "example.com")) == "exact")
        #expect(matchedName(table, routes, request(host: "example.com:1234")) == "exact")
        #expect(matchedName(table, routes, request(host: "Example.com")) == nil)
        #expect(matchedName(table, routes, request(host: "a.example.com")) == "suffix")
        #expect(matchedName(table, routes, request(host: "a.b.example.com")) == "suffix")
        #expect(matchedName(table, routes, request(host: "example.org")) == "prefix")
        #expect(matchedName(table, routes, request(host: "example.co.uk:80")) == "prefix")
        #expect(matchedName(table, routes, request(host: "xexample.com")) == nil)
        #expect(matchedName(table, routes, request(host: nil)) == nil)
        // h:p uses the Host port, else the arrival port.
        #expect(matchedName(table, routes, request(host: "ported.com:9000", port: 1)) == "port")
        #expect(matchedName(table, routes, request(host: "ported.com", port: 9000)) == "port")
        #expect(matchedName(table, routes, request(host: "ported.com", port: 9001)) == nil)
        #expect(matchedName(table, routes, request(host: "ported.com:9001", port: 9000)) == nil)
    }

    @Test func prefixPathsArePlainStringPrefixes() throws {
        let routes = [TestRoutes.route("foo", paths: ["/foo"]), TestRoutes.route("foobar", paths: ["/foo/bar"])]
        let table = try TestRoutes.table(routes)
        #expect(matchedName(table, routes, request(path: "/foobar")) == "foo")
        #expect(matchedName(table, routes, request(path: "/foo/bar/baz")) == "foobar")
        #expect(matchedName(table, routes, request(path: "/fo")) == nil)
        #expect(table.match(request(path: "/foo/x"))?.matchedPathLength == 4)
    }

    @Test func regexAnchoredAtStartOnly() throws {
        let routes = [TestRoutes.route("re", paths: ["~/users/[0-9]+"])]
        let table = try TestRoutes.table(routes)
        #expect(matchedName(table, routes, request(path: "/users/12/x")) == "re")
        #expect(table.match(request(path: "/users/12/x"))?.matchedPathLength == 9)
        #expect(matchedName(table, routes, request(path: "/v1/users/12")) == nil)
        // Kong's compat router prefixes `^` without a group: only the first alternative is anchored.
        let alt = [TestRoutes.route("alt", paths: ["~/a|/b"])]
        let altTable = try TestRoutes.table(alt)
        #expect(matchedName(altTable, alt, request(path: "/x/a")) == nil)
        #expect(matchedName(altTable, alt, request(path: "/x/b")) == "alt")
        #expect(matchedName(altTable, alt, request(path: "/b")) == "alt")
    }

    @Test func regexCaptures() throws {
        let routes = [
            TestRoutes.route("named", paths: ["~/v(?<version>[0-9]+)/(\\w+)(/x)?"]),
            TestRoutes.route("plain", paths: ["~/plain/[a-z]+"]),
        ]
        let table = try TestRoutes.table(routes)
        let m = try #require(table.match(request(path: "/v2/users/list")))
        let captures = try #require(m.captures)
        #expect(captures.string(0) == "/v2/users")
        #expect(captures.string(1) == "2")
        #expect(captures.string(2) == "users")
        #expect(captures.groups.count == 4)
        #expect(captures.groups[3] == nil)
        #expect(captures.named("version") == Array("2".utf8))
        #expect(captures.named.map(\.name) == ["version"])
        let plain = try #require(table.match(request(path: "/plain/abc")))
        #expect(plain.captures == nil)
        #expect(plain.matchedPathLength == 10)
    }

    @Test func regexIsUnicodeAware() throws {
        let routes = [TestRoutes.route("u", paths: ["~/caf./x$"])]
        let table = try TestRoutes.table(routes)
        #expect(matchedName(table, routes, request(path: "/café/x")) == "u")
        // `$` does not match before a final newline (Rust semantics).
        #expect(matchedName(table, routes, request(path: "/cafe/x\n")) == nil)
        // Invalid UTF-8 in the path is not an error, just no match for `.`.
        var bytes = Array("/caf".utf8)
        bytes.append(0xFF)
        bytes.append(contentsOf: Array("/x".utf8))
        #expect(table.match(RouteRequest(method: "GET", host: nil, port: 80, path: bytes)) == nil)
    }

    @Test func headers() throws {
        let routes = [
            TestRoutes.route("two", headers: [("X-Version", ["V1", "v2"]), ("x_tenant", ["Acme"])]),
            TestRoutes.route("regex", headers: [("X-Version", ["~*^V[0-9]+$"])]),
        ]
        let table = try TestRoutes.table(routes)
        #expect(matchedName(table, routes, request(headers: [("x-version", "v1"), ("X-Tenant", "ACME")])) == "two")
        #expect(matchedName(table, routes, request(headers: [("X_VERSION", "V2"), ("x-tenant", "acme")])) == "two")
        #expect(matchedName(table, routes, request(headers: [("x-version", "v9"), ("x-tenant", "acme")])) == "regex")
        #expect(matchedName(table, routes, request(headers: [("x-version", "nope"), ("x-version", "V3")])) == "regex")
        #expect(matchedName(table, routes, request(headers: [("x-version", "vx")])) == nil)
        // Only the first 100 headers count.
        let filler = (0..<100).map { (name: "x-f\($0)", value: "1") }
        #expect(matchedName(table, routes, request(headers: filler + [("x-version", "v1")])) == nil)
    }

    @Test func snisOnlyForTLS() throws {
        let routes = [
            TestRoutes.route("sni", paths: ["/s"], snis: ["secure.com", "*.wild.com"], protocols: [.https]),
            TestRoutes.route("fallback", paths: ["/"]),
        ]
        let table = try TestRoutes.table(routes)
        #expect(matchedName(table, routes, request(path: "/s", tls: true, sni: "secure.com")) == "sni")
        #expect(matchedName(table, routes, request(path: "/s", tls: true, sni: "a.wild.com")) == "sni")
        #expect(matchedName(table, routes, request(path: "/s", tls: true, sni: "other.com")) == "fallback")
        #expect(matchedName(table, routes, request(path: "/s", tls: true, sni: nil)) == "fallback")
        // Quirk: plain HTTP ignores snis (the caller then answers 426).
        #expect(matchedName(table, routes, request(path: "/s", tls: false)) == "sni")
    }

    @Test func plainHostsOutrankMoreCriteria() throws {
        let routes = [
            TestRoutes.route("wild", methods: ["GET"], hosts: ["*.example.com"], paths: ["/v1"]),
            TestRoutes.route("plain", hosts: ["api.example.com"]),
        ]
        let table = try TestRoutes.table(routes)
        #expect(matchedName(table, routes, request(host: "api.example.com", path: "/v1")) == "plain")
        #expect(matchedName(table, routes, request(host: "www.example.com", path: "/v1")) == "wild")
    }

    @Test func splitRoutesRankEachGroup() throws {
        let routes = [
            TestRoutes.route("multi", paths: ["/a", "/abcdef", "~/re"]),
            TestRoutes.route("mid", paths: ["/abc"]),
        ]
        let table = try TestRoutes.table(routes)
        #expect(table.count == 4)
        let long = try #require(table.match(request(path: "/abcdefg")))
        #expect(long.routeIndex == 0 && long.matchedPathLength == 7)
        let mid = try #require(table.match(request(path: "/abcx")))
        #expect(mid.routeIndex == 1)
        let short = try #require(table.match(request(path: "/ax")))
        #expect(short.routeIndex == 0 && short.matchedPathLength == 2)
        #expect(table.match(request(path: "/rex"))?.matchedPathLength == 3)
    }

    @Test func catastrophicRegexGivesUpInsteadOfSpinning() throws {
        let routes = [TestRoutes.route("evil", paths: ["~/(a+)+$"]), TestRoutes.route("any", paths: ["/"])]
        let table = try TestRoutes.table(routes)
        let path = "/" + String(repeating: "a", count: 5000) + "!"
        // Either the engine proves no match or a limit stops it; both fall through to "any".
        #expect(matchedName(table, routes, request(path: path)) == "any")
    }

    @Test func sharedAcrossTasks() async throws {
        let routes = (0..<50).map { TestRoutes.route("r\($0)", paths: ["~/r\($0)/(?<id>[0-9]+)"]) }
        let table = try TestRoutes.table(routes)
        await withTaskGroup(of: Bool.self) { group in
            for t in 0..<4 {
                group.addTask {
                    for i in 0..<500 {
                        let n = (i + t) % 50
                        let m = table.match(RouteRequest(method: "GET", host: nil, port: 80, path: "/r\(n)/\(i)"))
                        guard m?.routeIndex == n, m?.captures?.named("id") == Array("\(i)".utf8) else { return false }
                    }
                    return true
                }
            }
            for await ok in group { #expect(ok) }
        }
    }
}
