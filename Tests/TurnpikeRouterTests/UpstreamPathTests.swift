import Testing
import TurnpikeModel
import TurnpikeRouter

@Suite struct UpstreamPathTests {
    /// Kong's path-joining vectors (spec/fixtures/router_path_handling_tests.lua): service path, route path (nil: host-only route),
    /// strip_path (nil: either), raw request path, expected upstream path.
    static let vectors: [(String, String?, Bool?, String, String)] = [
        ("/", "/", nil, "/route/req", "/route/req"),
        ("/", "/route", true, "/route", "/"),
        ("/", "/route", true, "/routereq", "/req"),
        ("/", "/route/", true, "/route/req", "/req"),
        ("/srv", "/rou", false, "/roureq", "/srv/roureq"),
        ("/srv", "/rou", true, "/roureq", "/srv/req"),
        ("/srv/", "/rou", true, "/rou", "/srv"),
        ("/service", "/", nil, "/", "/service"),
        ("/service", "/", nil, "/route/", "/service/route/"),
        ("/service", "/route", true, "/route/", "/service/"),
        ("/service", "/route/", true, "/route/", "/service/"),
        ("/service/", "/route", true, "/route", "/service"),
        ("/service/", "/", nil, "/", "/service/"),
        ("/service", nil, nil, "/route", "/service/route"),
        ("/service", "/route", true, "/route./req", "/service/req"),
        ("/service", "/route", true, "/route%2E%2E/req", "/service/req"),
        ("/service", "/route", false, "/route./req", "/service/route./req"),
    ]

    @Test func kongCheckVectors() throws {
        var checked = 0
        for (service, routePath, strip, raw, expected) in Self.vectors {
            for stripPath in strip.map({ [$0] }) ?? [true, false] {
                // Route through a real table so the matched length is the router's.
                let route = TestRoutes.route(
                    "r",
                    hosts: routePath == nil ? ["h"] : nil,
                    paths: routePath.map { [$0] },
                    stripPath: stripPath
                )
                let table = try TestRoutes.table([route])
                let path = PathNormalizer.normalize(Array(raw.utf8))
                let match = try #require(table.match(RouteRequest(method: "GET", host: "h", port: 80, path: path)))
                let upstream = UpstreamPath.join(
                    servicePath: Array(service.utf8),
                    requestPath: path,
                    matchedLength: match.matchedPathLength,
                    stripPath: stripPath
                )
                #expect(
                    String(decoding: upstream, as: UTF8.self) == expected,
                    "\(service) \(routePath ?? "-") strip=\(stripPath) \(raw)"
                )
                checked += 1
            }
        }
        #expect(checked == 22)
    }

    @Test func nilServicePathIsSlash() {
        #expect(
            UpstreamPath.join(servicePath: nil as String?, requestPath: "/a/b", matchedLength: 2, stripPath: true)
                == "/b"
        )
        #expect(
            UpstreamPath.join(servicePath: nil as String?, requestPath: "/a/b", matchedLength: 2, stripPath: false)
                == "/a/b"
        )
    }

    @Test func regexMatchIsStripped() throws {
        let table = try TestRoutes.table([TestRoutes.route("r", paths: ["~/v[0-9]+"])])
        let path = Array("/v12/users".utf8)
        let match = try #require(table.match(RouteRequest(method: "GET", host: nil, port: 80, path: path)))
        #expect(match.matchedPathLength == 4)
        #expect(
            UpstreamPath.join(servicePath: Array("/api".utf8), requestPath: path, matchedLength: 4, stripPath: true)
                == Array("/api/users".utf8)
        )
    }

    @Test func forwardedPrefix() {
        let path = Array("/route/req".utf8)
        #expect(
            UpstreamPath.forwardedPrefix(requestPath: path, matchedLength: 6, stripPath: true).map(Array.init)
                == Array("/route".utf8)
        )
        #expect(UpstreamPath.forwardedPrefix(requestPath: path, matchedLength: 6, stripPath: false) == nil)
        #expect(UpstreamPath.forwardedPrefix(requestPath: path, matchedLength: 1, stripPath: true) == nil)
        #expect(UpstreamPath.forwardedPrefix(requestPath: path, matchedLength: nil, stripPath: true) == nil)
    }
}
