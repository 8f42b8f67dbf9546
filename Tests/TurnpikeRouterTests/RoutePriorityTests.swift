import Testing
import TurnpikeModel
import TurnpikeRouter

@Suite struct RoutePriorityTests {
    /// Priorities as kong/router/transform.lua `get_priority` computes them (32-bit quirks included).
    static let checkValues: [(Route, UInt64)] = [
        (TestRoutes.route("a", paths: ["/foo"]), 0x2000_0004),
        (TestRoutes.route("b", paths: ["/foo/bar"]), 0x2000_0008),
        (TestRoutes.route("c", hosts: ["example.com"]), 0x1000_0000_2000_0000),
        (TestRoutes.route("d", hosts: ["example.com"], paths: ["/foo"]), 0x1000_0000_4000_0004),
        (TestRoutes.route("e", methods: ["GET"], hosts: ["*.example.com"], paths: ["/foo"]), 0x6000_0004),
        (TestRoutes.route("f", paths: ["~/foo"]), 0x0008_0000_2000_0000),
        (TestRoutes.route("g", paths: ["~/foo"], regexPriority: 5), 0x0008_0000_2028_0000),
        (TestRoutes.route("h", paths: ["/foo"], headers: [("x-v", ["a"])]), 0x4010_0004),
    ]

    @Test(arguments: RoutePriorityTests.checkValues)
    func kongCheckValues(route: Route, expected: UInt64) {
        #expect(RoutePriority.priority(of: route) == expected)
    }

    @Test func thirtyTwoBitQuirks() {
        // 4 criteria: 4 << 29 = 0x80000000, sign-extended.
        let four = TestRoutes.route("w4", methods: ["GET"], hosts: ["*.x"], paths: ["/a"], headers: [("h", ["v"])])
        let fourExpected: UInt64 = 0xFFFF_FFFF_8010_0002
        #expect(RoutePriority.priority(of: four) == fourExpected)
        // Negative regex_priority sign-extends too, and sets every high bit.
        let negative = TestRoutes.route("neg", paths: ["~/a"], regexPriority: -1)
        let negativeExpected: UInt64 = 0xFFFF_FFFF_FFF8_0000 | 0x2000_0000
        #expect(RoutePriority.priority(of: negative) == negativeExpected)
        // regex_priority 4096 reaches bit 31.
        let big = TestRoutes.route("big", paths: ["~/a"], regexPriority: 4096)
        let bigExpected: UInt64 = 0xFFFF_FFFF_8000_0000 | 0x0008_0000_2000_0000
        #expect(RoutePriority.priority(of: big) == bigExpected)
        // regex_priority is ignored for prefix paths; the prefix length is masked to 19 bits.
        let prefix = TestRoutes.route("p", paths: ["/a"], regexPriority: 7)
        #expect(RoutePriority.priority(of: prefix) == 0x2000_0002)
        // An empty host list is "plain hosts only" but not a criterion.
        let empty = TestRoutes.route("e", hosts: [], paths: ["/a"])
        #expect(RoutePriority.priority(of: empty) == 0x1000_0000_2000_0002)
        // A host with a wildcard clears the plain-hosts bit.
        let mixed = TestRoutes.route("m", hosts: ["a.com", "*.b.com"])
        #expect(RoutePriority.priority(of: mixed) == 0x2000_0000)
    }

    @Test func strictModeUsesTheDocumentedLayout() {
        let r = TestRoutes.route("s", hosts: ["example.com"], paths: ["/foo"], headers: [("x", ["1"])])
        let expected: UInt64 = 3 << 61 | 1 << 60 | 1 << 52 | 4
        #expect(RoutePriority.priority(of: r, mode: .strict) == expected)
    }

    @Test func splitGroupsUseKongIDs() throws {
        let id = try #require(EntityID("481a9539-f49c-51b6-b2e2-fe99ee68866c"))
        let r = TestRoutes.route("r", id: id, paths: ["/foo", "~/x", "/bar", "/a", "~/y"])
        let groups = RoutePriority.groups(of: r)
        #expect(groups.map(\.key) == ["4", "true", "2"])
        #expect(groups.map(\.paths) == [["/foo", "/bar"], ["~/x", "~/y"], ["/a"]])
        #expect(groups.map(\.pathIndices) == [[0, 2], [1, 4], [3]])
        for group in groups {
            let expected = EntityID.v5(namespace: RoutePriority.splitNamespace, name: "\(id)#\(group.key!)")
            #expect(group.sortID == expected)
        }
        #expect(RoutePriority.priority(of: r, paths: groups[0].paths) == 0x2000_0004)
        #expect(RoutePriority.priority(of: r, paths: groups[1].paths) == 0x0008_0000_2000_0000)
        // One path: no split, the route's own id.
        let single = RoutePriority.groups(of: TestRoutes.route("one", id: id, paths: ["/a"]))
        #expect(single.count == 1 && single[0].key == nil && single[0].sortID == id)
        // Two paths of one group still get the split id (Kong splits any multi-path route).
        let same = RoutePriority.groups(of: TestRoutes.route("two", id: id, paths: ["/a", "/b"]))
        #expect(same.count == 1 && same[0].sortID != id)
    }

    @Test func tableOrdersByPriorityThenLargerID() throws {
        let low = try #require(EntityID("00000000-0000-4000-8000-000000000001"))
        let high = try #require(EntityID("ffffffff-0000-4000-8000-000000000001"))
        let routes = [
            TestRoutes.route("p1", id: low, paths: ["/foo"]),
            TestRoutes.route("p2", id: high, paths: ["/bar"]),
            TestRoutes.route("host", hosts: ["example.com"]),
            TestRoutes.route("regex", paths: ["~/x"]),
        ]
        let table = try TestRoutes.table(routes)
        #expect(table.order.map(\.routeIndex) == [2, 3, 1, 0])
        // Equal priority: the larger id wins the match.
        let tie = try TestRoutes.table([
            TestRoutes.route("small", id: low, paths: ["/foo"]),
            TestRoutes.route("large", id: high, paths: ["/foo"]),
        ])
        #expect(tie.match(RouteRequest(method: "GET", host: "x", port: 80, path: "/foo"))?.routeIndex == 1)
    }
}
