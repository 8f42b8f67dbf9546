import TurnpikeModel
import TurnpikeRouter

/// The obvious router: every entry in precedence order, checked one by one with Swift's own
/// `Regex`. Slow on purpose; the differential test compares `RouteTable` against it.
struct ReferenceMatcher {
    struct Entry {
        let routeIndex: Int
        let route: Route
        let paths: [String]
        let priority: UInt64
        let sortID: EntityID
    }

    struct Result: Equatable, CustomStringConvertible {
        let routeIndex: Int
        let matchedLength: Int?
        let captures: [String?]?
        let named: [String: String]

        var description: String {
            "route \(routeIndex) len \(matchedLength.map(String.init) ?? "-") \(captures ?? []) \(named)"
        }
    }

    let entries: [Entry]

    init(_ routes: [Route], include: (Int) -> Bool = { _ in true }) {
        var entries: [Entry] = []
        for (i, route) in routes.enumerated() where include(i) {
            guard route.protocols.contains(where: { [.http, .https, .grpc, .grpcs].contains($0) }) else { continue }
            for group in RoutePriority.groups(of: route) {
                entries.append(
                    Entry(
                        routeIndex: i,
                        route: route,
                        paths: group.paths ?? [],
                        priority: RoutePriority.priority(of: route, paths: group.paths),
                        sortID: group.sortID
                    )
                )
            }
        }
        self.entries = entries.sorted { a, b in
            a.priority != b.priority ? a.priority > b.priority : a.sortID > b.sortID
        }
    }

    static func splitHostPort(_ s: String) -> (String, Int?) {
        guard let colon = s.firstIndex(of: ":") else { return (s, nil) }
        let rest = s[s.index(after: colon)...]
        guard !rest.isEmpty, rest.count <= 9, rest.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(rest)
        else { return (s, nil) }
        return (String(s[..<colon]), port)
    }

    static func wildcardMatch(_ pattern: String, _ value: String) -> Bool {
        if pattern.hasPrefix("*") {
            return Array(value.utf8).reversed().starts(with: Array(pattern.utf8.dropFirst()).reversed())
        }
        if pattern.hasSuffix("*") { return Array(value.utf8).starts(with: Array(pattern.utf8.dropLast())) }
        return Array(value.utf8) == Array(pattern.utf8)
    }

    static func normalizeName(_ name: String) -> String {
        String(name.lowercased().map { $0 == "_" ? "-" : $0 })
    }

    func match(_ request: RouteRequest) -> Result? {
        let hostPort = request.host.map(Self.splitHostPort)
        let path = String(decoding: request.path, as: UTF8.self)
        let headers = request.headers.prefix(100).map { (Self.normalizeName($0.name), $0.value.lowercased()) }
        entryLoop: for entry in self.entries {
            let r = entry.route
            if let methods = r.methods, !methods.isEmpty, !methods.contains(request.method) { continue }
            if let hosts = r.hosts, !hosts.isEmpty {
                guard let (host, port) = hostPort else { continue }
                let ok = hosts.contains { h in
                    let (name, wantPort) = Self.splitHostPort(h)
                    if let wantPort, wantPort != (port ?? request.port) { return false }
                    return Self.wildcardMatch(name, host)
                }
                if !ok { continue }
            }
            if let snis = r.snis, !snis.isEmpty, request.isTLS {
                guard let sni = request.sni, snis.contains(where: { Self.wildcardMatch($0, sni) }) else { continue }
            }
            for (name, values) in r.headers ?? [] {
                let key = Self.normalizeName(name)
                let ok = headers.contains { h in
                    h.0 == key
                        && values.contains { v in
                            let v = v.lowercased()
                            if v.hasPrefix("~*") {
                                let regex = try! Regex(String(v.dropFirst(2)))
                                return h.1.firstMatch(of: regex) != nil
                            }
                            return v == h.1
                        }
                }
                if !ok { continue entryLoop }
            }
            if entry.paths.isEmpty {
                return Result(routeIndex: entry.routeIndex, matchedLength: nil, captures: nil, named: [:])
            }
            for p in entry.paths {
                if p.hasPrefix("~") {
                    // Kong's compat router prefixes `^` (no group): `~/a|/b` leaves `/b` unanchored.
                    let regex = try! Regex("^" + String(p.dropFirst()))
                    guard let m = path.firstMatch(of: regex) else { continue }
                    // strip_path removes as many bytes as the match is long (Kong: `#matched_path`).
                    let length = path.utf8.distance(from: m.range.lowerBound, to: m.range.upperBound)
                    let output = m.output
                    var captures: [String?]?
                    var named: [String: String] = [:]
                    if output.count > 1 {
                        captures = output.map { $0.substring.map(String.init) }
                        for group in output {
                            if let name = group.name, let s = group.substring { named[name] = String(s) }
                        }
                    }
                    return Result(routeIndex: entry.routeIndex, matchedLength: length, captures: captures, named: named)
                }
                if request.path.starts(with: Array(p.utf8)) {
                    return Result(routeIndex: entry.routeIndex, matchedLength: p.utf8.count, captures: nil, named: [:])
                }
            }
        }
        return nil
    }
}

extension RouteMatch {
    var asReference: ReferenceMatcher.Result {
        var named: [String: String] = [:]
        for entry in self.captures?.named ?? [] {
            if let v = entry.value { named[entry.name] = String(decoding: v, as: UTF8.self) }
        }
        return ReferenceMatcher.Result(
            routeIndex: self.routeIndex,
            matchedLength: self.matchedPathLength,
            captures: self.captures.map { $0.groups.map { $0.map { String(decoding: $0, as: UTF8.self) } } },
            named: named
        )
    }
}
