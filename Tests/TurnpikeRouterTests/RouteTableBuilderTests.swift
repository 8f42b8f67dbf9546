import Testing
import TurnpikeModel
import TurnpikeRouter

@Suite struct RouteTableBuilderTests {
    @Test func skipsExcludedAndStreamRoutes() throws {
        let routes = [
            TestRoutes.route("disabled", paths: ["/"]),
            TestRoutes.route("stream", paths: ["/"], protocols: [.tcp]),
            TestRoutes.route("ok", paths: ["/ok"]),
        ]
        let table = try RouteTableBuilder().build(routes) { index, _ in index != 0 }
        #expect(table.count == 1)
        #expect(table.match(RouteRequest(method: "GET", host: nil, port: 80, path: "/"))?.routeIndex == nil)
        #expect(table.match(RouteRequest(method: "GET", host: nil, port: 80, path: "/ok"))?.routeIndex == 2)
    }

    @Test func reportsInvalidRegexes() throws {
        let routes = [
            TestRoutes.route("good", paths: ["/a"]),
            TestRoutes.route("bad", paths: ["/b", "~/x(", "~/y[z"], headers: [("x-h", ["ok", "~*(("])]),
        ]
        do {
            _ = try TestRoutes.table(routes)
            Issue.record("expected an error")
        } catch {
            #expect(error.problems.count == 3)
            let paths = error.problems.filter { $0.pathIndex != nil }
            #expect(paths.map(\.routeIndex) == [1, 1])
            #expect(paths.map(\.pathIndex) == [1, 2])
            #expect(paths[0].message == "invalid regex: '/x(' (PCRE returned: missing closing parenthesis)")
            #expect(paths[1].message.hasPrefix("invalid regex: '/y[z' (PCRE returned: missing terminating ]"))
            let header = error.problems.first { $0.pathIndex == nil }
            #expect(header?.field == .header(name: "x-h", index: 1))
            #expect(header?.message.hasPrefix("invalid regex: '((' (PCRE returned: ") == true)
        }
    }

    @Test func sameRegexInTwoRoutesIsCompiledOnceAndWorksForBoth() throws {
        let routes = [
            TestRoutes.route("one", methods: ["GET"], paths: ["~/x/(?<id>[0-9]+)"]),
            TestRoutes.route("two", methods: ["POST"], paths: ["~/x/(?<id>[0-9]+)"]),
        ]
        let table = try TestRoutes.table(routes)
        let post = try #require(table.match(RouteRequest(method: "POST", host: nil, port: 80, path: "/x/7")))
        #expect(post.routeIndex == 1)
        #expect(post.captures?.named("id") == Array("7".utf8))
    }
}
