// Router micro-benchmark (`make bench-router`): median match time with 10, 1k and 10k routes.
// Not a test: timings depend on the machine.
import TurnpikeModel
import TurnpikeRouter

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
if arguments.count == 4, arguments[1] == "nio-relay", let port = Int(arguments[2]), let up = Int(arguments[3]) {
    try runRelay(listenPort: port, upstreamPort: up)
}

struct Case {
    var name: String
    var routes: [Route]
    var requests: [RouteRequest]
}

func makeRoutes(count: Int, hosts: Bool) -> [Route] {
    (0..<count).map { i in
        var route = Route(
            id: EntityID.v5(namespace: DeclarativeIDs.routes, name: "r\(i)"),
            location: SourceLocation(file: "bench", line: 1, column: 1),
            path: FieldPath("routes[\(i)]")
        )
        route.name = "r\(i)"
        route.paths = ["/svc/\(i)/api"]
        if hosts { route.hosts = ["h\(i % 100).example.com"] }
        return route
    }
}

func makeRequests(count: Int, routes: Int, hosts: Bool) -> [RouteRequest] {
    var rng = SystemRandomNumberGenerator()
    return (0..<count).map { _ in
        let i = Int.random(in: 0..<routes, using: &rng)
        let host = hosts ? "h\(i % 100).example.com" : "gateway.example.com"
        return RouteRequest(method: "GET", host: host, port: 8000, path: "/svc/\(i)/api/items/42")
    }
}

@inline(never)
func run(_ table: RouteTable, _ requests: [RouteRequest]) -> Int {
    var matched = 0
    for r in requests where table.match(r) != nil { matched += 1 }
    return matched
}

func pad(_ s: String, _ width: Int) -> String {
    s + String(repeating: " ", count: max(0, width - s.count))
}

let clock = ContinuousClock()
print("route table match time, median of 7 rounds of 20,000 matches (prefix paths; optional exact hosts)")
print("routes   hosts   ns/match   matched")
for hosts in [false, true] {
    for count in [10, 1_000, 10_000] {
        let routes = makeRoutes(count: count, hosts: hosts)
        let table = try RouteTableBuilder().build(routes)
        let requests = makeRequests(count: 20_000, routes: count, hosts: hosts)
        _ = run(table, requests)  // warm-up
        var samples: [Double] = []
        var matched = 0
        for _ in 0..<7 {
            let start = clock.now
            matched = run(table, requests)
            let elapsed = clock.now - start
            let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
            samples.append(ns / Double(requests.count))
        }
        samples.sort()
        let line =
            pad("\(count)", 9) + pad(hosts ? "yes" : "no", 8) + pad(String(Int(samples[3].rounded())), 11)
            + "\(matched)/\(requests.count)"
        print(line)
    }
}
