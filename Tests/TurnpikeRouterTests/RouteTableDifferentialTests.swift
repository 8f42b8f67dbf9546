import Testing
import TurnpikeModel
import TurnpikeRouter

/// Deterministic generator (SplitMix64), so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct RouteTableDifferentialTests {
    static let hostPatterns = [
        "a.com", "b.a.com", "x.b.a.com", "api.example.com", "example.org", "a.com:8080", "*.a.com", "*.com",
        "api.*", "example.*", "*.example.com:8443", "api.example.com:8000", "A.com",
    ]
    static let requestHosts = [
        "a.com", "b.a.com", "x.b.a.com", "api.example.com", "example.org", "a.com:8080", "api.example.com:8443",
        "api.example.org", "c.example.com", "example.com", "b.a.com:8000", "A.com", "api", "a.com:x",
    ]
    static let prefixPaths = ["/", "/a", "/ab", "/a/b", "/api", "/api/v1", "/b", "/api/v1/users", "/a/"]
    static let regexPaths = [
        "~/a/[0-9]+", "~/api/(?<ver>v[0-9])", "~/b.*", "~/(a|b)/x", "~/api/v1/(?<res>[a-z]+)/(?<id>[0-9]+)",
        "~/[ab]", "~/a(b)?", "~/x|/api",
    ]
    static let requestPaths = [
        "/", "/a", "/ab", "/abc", "/a/b", "/a/123", "/a/x", "/b/x", "/api", "/api/v1", "/api/v2/x",
        "/api/v1/users", "/api/v1/users/42", "/b", "/bee", "/c", "/a/", "/x", "/api/v1/users/x",
    ]
    static let headerNames = ["x-v", "X_Tenant", "x-other"]
    static let headerValues = ["a", "B", "~*^z[0-9]", "~*acme", "c"]
    static let requestHeaderValues = ["a", "b", "A", "z1", "Z9x", "acme corp", "ACME", "c", "zz"]
    static let snis = ["a.com", "*.a.com", "secure.*", "b.a.com"]
    static let requestSNIs = ["a.com", "b.a.com", "secure.org", "other.com"]

    static func pick<T>(_ xs: [T], _ rng: inout SplitMix64) -> T { xs[Int(rng.next() % UInt64(xs.count))] }

    static func some<T>(_ xs: [T], max: Int, _ rng: inout SplitMix64) -> [T] {
        let n = 1 + Int(rng.next() % UInt64(max))
        return (0..<n).map { _ in pick(xs, &rng) }
    }

    static func randomRoute(_ i: Int, _ rng: inout SplitMix64) -> Route {
        let id = EntityID(high: rng.next(), low: rng.next())
        func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }
        var paths: [String]?
        if chance(75) {
            var ps: [String] = []
            let n = 1 + Int(rng.next() % 3)
            for _ in 0..<n { ps.append(chance(35) ? pick(regexPaths, &rng) : pick(prefixPaths, &rng)) }
            paths = ps
        }
        var headers: [(name: String, values: [String])]?
        if chance(20) {
            var names: [String] = []
            for name in some(headerNames, max: 2, &rng) where !names.contains(name) { names.append(name) }
            headers = names.map { ($0, some(headerValues, max: 2, &rng)) }
        }
        var route = TestRoutes.route(
            "r\(i)",
            id: id,
            methods: chance(30) ? some(["GET", "POST", "PUT"], max: 2, &rng) : nil,
            hosts: chance(55) ? some(hostPatterns, max: 3, &rng) : (chance(5) ? [] : nil),
            paths: paths,
            headers: headers,
            snis: chance(10) ? some(snis, max: 2, &rng) : nil,
            regexPriority: pick([0, 0, 0, 1, 2, 5, -1, 4096], &rng),
            protocols: chance(3) ? [.tcp] : [.http, .https]
        )
        if route.methods == nil && route.hosts?.isEmpty != false && route.paths == nil && route.headers == nil
            && route.snis == nil
        {
            route.paths = ["/"]
        }
        return route
    }

    static func randomRequest(_ rng: inout SplitMix64) -> RouteRequest {
        func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }
        var headers: [(name: String, value: String)] = []
        if chance(50) {
            let names = ["x-v", "X-V", "x_tenant", "X-Tenant", "x-other", "x-unrelated"]
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                headers.append((pick(names, &rng), pick(requestHeaderValues, &rng)))
            }
        }
        let tls = chance(30)
        return RouteRequest(
            method: pick(["GET", "POST", "PUT", "DELETE"], &rng),
            host: chance(92) ? pick(requestHosts, &rng) : nil,
            port: pick([8000, 8080, 8443], &rng),
            path: pick(requestPaths, &rng),
            headers: headers,
            isTLS: tls,
            sni: tls && chance(85) ? pick(requestSNIs, &rng) : nil
        )
    }

    @Test func fastMatcherAgreesWithReference() throws {
        var rng = SplitMix64(state: 0x5EED_2024)
        var compared = 0
        var matched = 0
        // One scratch across every table, as a connection keeps one across reloads.
        var scratch = RouteScratch()
        for round in 0..<150 {
            let count = 1 + Int(rng.next() % 60)
            let routes = (0..<count).map { Self.randomRoute($0, &rng) }
            let skip = round % 3 == 0 ? Int(rng.next() % UInt64(count)) : -1
            let table = try RouteTableBuilder().build(routes) { index, _ in index != skip }
            let reference = ReferenceMatcher(routes) { $0 != skip }
            for _ in 0..<200 {
                let request = Self.randomRequest(&rng)
                let fast = table.match(request)?.asReference
                let slow = reference.match(request)
                let context =
                    "round \(round): \(request.method) \(request.host ?? "-") :\(request.port) "
                    + "\(String(decoding: request.path, as: UTF8.self)) \(request.headers) "
                    + "tls=\(request.isTLS) sni=\(request.sni ?? "-")"
                #expect(fast == slow, Comment(rawValue: context))
                #expect(table.match(request, scratch: &scratch)?.asReference == fast, Comment(rawValue: context))
                if fast != slow { return }
                compared += 1
                if slow != nil { matched += 1 }
            }
        }
        #expect(compared == 30_000)
        // The generator must exercise both outcomes substantially.
        #expect(matched > 8_000 && matched < 28_000)
    }

    @Test func manyRoutesStillMatchCorrectly() throws {
        // 5,000 host+prefix routes and a few regexes: spot checks against the reference.
        var routes: [Route] = []
        for i in 0..<5_000 {
            routes.append(
                TestRoutes.route("h\(i)", hosts: ["svc\(i % 500).example.com"], paths: ["/api/v\(i / 500)/r\(i)"])
            )
        }
        routes.append(TestRoutes.route("re", paths: ["~/api/v[0-9]+/r(?<n>[0-9]+)"]))
        routes.append(TestRoutes.route("wild", hosts: ["*.example.com"], paths: ["/"]))
        let table = try TestRoutes.table(routes)
        let reference = ReferenceMatcher(routes)
        var rng = SplitMix64(state: 7)
        for _ in 0..<300 {
            let i = Int(rng.next() % 6_000)
            let request = RouteRequest(
                method: "GET",
                host: "svc\(i % 520).example.com",
                port: 80,
                path: "/api/v\(i / 500)/r\(i)/x"
            )
            #expect(table.match(request)?.asReference == reference.match(request))
        }
    }
}
