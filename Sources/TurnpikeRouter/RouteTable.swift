public import TurnpikeModel
import TurnpikeRegex

/// The compiled, immutable router: routes in Kong's precedence, indexed so a match does not scan
/// every route. Built by `RouteTableBuilder`; safe to share across event loops (only `let`s;
/// compiled regexes are read-only; per-match scratch is local to each `match` call or the
/// caller's own `RouteScratch`).
///
/// Lookup: routes are bucketed by host (one bucket per exact host, one per `*.suffix`, one per
/// `prefix.*`, one for routes without hosts). A request visits only the buckets its Host can
/// match (a hash lookup, plus one per dot when wildcard hosts exist). Inside a bucket a byte trie
/// of prefix paths yields the routes whose prefix starts the path; regex and path-less routes
/// form one more list. Every list is sorted by rank, and the lists are merged in rank order: the
/// first candidate passing the full check wins, so a regex runs only when every better-ranked
/// candidate has failed.
public final class RouteTable: Sendable {
    /// Every entry in precedence order (index = rank).
    let entries: [VirtualRoute]
    let exactHosts: [String: Int]
    let suffixHosts: [String: Int]
    let prefixHosts: [String: Int]
    let anyHostBucket: Int
    let buckets: [PathMatcher]
    /// Header names used by header criteria (lower-case, `-` for `_`) to their id.
    let headerNames: [String: Int]

    init(
        entries: [VirtualRoute],
        exactHosts: [String: Int],
        suffixHosts: [String: Int],
        prefixHosts: [String: Int],
        anyHostBucket: Int,
        buckets: [PathMatcher],
        headerNames: [String: Int]
    ) {
        self.entries = entries
        self.exactHosts = exactHosts
        self.suffixHosts = suffixHosts
        self.prefixHosts = prefixHosts
        self.anyHostBucket = anyHostBucket
        self.buckets = buckets
        self.headerNames = headerNames
    }

    /// Number of entries after splitting.
    public var count: Int { self.entries.count }

    /// True when some route matches on headers: only then must callers pass request headers.
    public var needsHeaders: Bool { !self.headerNames.isEmpty }

    /// The entries in precedence order, for diagnostics and tests: original route index, the id
    /// used for tie-breaks, and the priority.
    public var order: [(routeIndex: Int, sortID: EntityID, priority: UInt64)] {
        self.entries.map { ($0.routeIndex, $0.sortID, $0.priority) }
    }

    /// The best route for `request`, or nil (Kong answers 404). Allocates its candidate lists,
    /// and PCRE2 match data only when a regex is evaluated.
    public func match(_ request: RouteRequest) -> RouteMatch? {
        var scratch = RouteScratch()
        return self.match(request, scratch: &scratch)
    }

    /// `match(_:)` with the candidate lists kept in `scratch` between calls: a connection that
    /// keeps one routes its requests without allocating them (the scratch is left empty, holding
    /// no reference into this table).
    public func match(_ request: RouteRequest, scratch: inout RouteScratch) -> RouteMatch? {
        defer { scratch.lists.removeAll(keepingCapacity: true) }
        return self.match(request, lists: &scratch.lists)
    }

    private func match(_ request: RouteRequest, lists: inout [ArraySlice<Int32>]) -> RouteMatch? {
        // Without host criteria (every route with hosts is filed under a host bucket) the Host is
        // never looked at: not split either.
        let usesHosts = !self.exactHosts.isEmpty || !self.suffixHosts.isEmpty || !self.prefixHosts.isEmpty
        var state = RequestState(request: request, parseHost: usesHosts)
        lists.reserveCapacity(16)
        request.path.withUnsafeBufferPointer { path in
            if let host = state.host {
                if !self.exactHosts.isEmpty {
                    let key = String(decoding: host, as: UTF8.self)
                    if let b = self.exactHosts[key] { self.buckets[b].collect(path, into: &lists) }
                }
                if !self.suffixHosts.isEmpty || !self.prefixHosts.isEmpty {
                    for (i, byte) in host.enumerated() where byte == UInt8(ascii: ".") {
                        if !self.suffixHosts.isEmpty,
                            let b = self.suffixHosts[String(decoding: host[i...], as: UTF8.self)]
                        {
                            self.buckets[b].collect(path, into: &lists)
                        }
                        if !self.prefixHosts.isEmpty,
                            let b = self.prefixHosts[String(decoding: host[...i], as: UTF8.self)]
                        {
                            self.buckets[b].collect(path, into: &lists)
                        }
                    }
                }
            }
            self.buckets[self.anyHostBucket].collect(path, into: &lists)
        }
        // k-way merge of the ascending rank lists; k is small (buckets x path depth).
        while true {
            var best = Int32.max
            for list in lists {
                if let first = list.first, first < best { best = first }
            }
            if best == Int32.max { return nil }
            for i in lists.indices where lists[i].first == best {
                lists[i].removeFirst()
            }
            if let found = self.evaluate(Int(best), &state) { return found }
        }
    }

    /// The full check of one entry (index buckets only pre-filter).
    private func evaluate(_ rank: Int, _ state: inout RequestState) -> RouteMatch? {
        let entry = self.entries[rank]
        let request = state.request
        if let methods = entry.methods {
            guard methods.contains(where: { request.method.utf8.elementsEqual($0) }) else { return nil }
        }
        if !entry.hosts.isEmpty {
            guard let host = state.host else { return nil }
            let port = state.hostPort ?? request.port
            guard entry.hosts.contains(where: { $0.matches(host: host, port: port) }) else { return nil }
        }
        // Kong's compat router ignores `snis` for non-HTTPS requests (kong/router/transform.lua).
        if !entry.snis.isEmpty, request.isTLS {
            guard let sni = request.sni else { return nil }
            let bytes = Array(sni.utf8)
            guard entry.snis.contains(where: { $0.matches(bytes) }) else { return nil }
        }
        if !entry.headers.isEmpty {
            let values = state.headerValues(names: self.headerNames)
            for criterion in entry.headers {
                guard self.headerMatches(criterion, values[criterion.nameID], &state) else { return nil }
            }
        }
        guard entry.hasPathCriterion else {
            return RouteMatch(
                routeIndex: entry.routeIndex,
                routeID: entry.routeID,
                priority: entry.priority,
                matchedPathLength: nil,
                captures: nil
            )
        }
        let path = request.path
        for prefix in entry.prefixes where HostMatcher.hasPrefix(path, prefix) {
            return RouteMatch(
                routeIndex: entry.routeIndex,
                routeID: entry.routeID,
                priority: entry.priority,
                matchedPathLength: prefix.count,
                captures: nil
            )
        }
        for regex in entry.regexes {
            let scratch = state.scratch()
            let matched = path.withUnsafeBufferPointer { regex.matches($0, scratch: scratch) }
            guard matched else { continue }
            let ranges = regex.groupRanges(scratch: scratch)
            let whole = ranges.first.flatMap { $0 } ?? 0..<0
            var captures: RegexCaptures?
            if regex.captureCount > 0 {
                let groups: [[UInt8]?] = ranges.map { range in range.map { Array(path[$0]) } }
                let named: [(name: String, value: [UInt8]?)] = regex.names.map { entry in
                    (entry.name, entry.group < groups.count ? groups[entry.group] : nil)
                }
                captures = RegexCaptures(groups: groups, named: named)
            }
            return RouteMatch(
                routeIndex: entry.routeIndex,
                routeID: entry.routeID,
                priority: entry.priority,
                // Kong strips `#matched_path` bytes: the match's length (its start is 0 unless an
                // unanchored alternative matched).
                matchedPathLength: whole.count,
                captures: captures
            )
        }
        return nil
    }

    private func headerMatches(_ criterion: HeaderCriterion, _ values: [[UInt8]], _ state: inout RequestState) -> Bool {
        for value in values {
            if criterion.values.contains(value) { return true }
            for regex in criterion.regexes {
                let scratch = state.scratch()
                if value.withUnsafeBufferPointer({ regex.matches($0, scratch: scratch) }) { return true }
            }
        }
        return false
    }
}

/// Per-call state: the parsed Host, lazily the routing headers, lazily PCRE2 match data.
private struct RequestState {
    let request: RouteRequest
    let host: [UInt8]?
    let hostPort: Int?
    private var headers: [[[UInt8]]]?
    private var matchScratch: MatchScratch?

    init(request: RouteRequest, parseHost: Bool) {
        self.request = request
        if parseHost, let value = request.host {
            let (host, port) = HostMatcher.split(value.utf8)
            self.host = host
            self.hostPort = port
        } else {
            self.host = nil
            self.hostPort = nil
        }
    }

    /// Values (ASCII lower-cased) of each header name some route tests, by name id.
    mutating func headerValues(names: [String: Int]) -> [[[UInt8]]] {
        if let headers { return headers }
        var out = [[[UInt8]]](repeating: [], count: names.count)
        for (name, value) in self.request.headers.prefix(RouteRequest.maxRoutingHeaders) {
            if let id = names[ASCII.headerKey(name)] { out[id].append(ASCII.lowercased(value.utf8)) }
        }
        self.headers = out
        return out
    }

    mutating func scratch() -> MatchScratch {
        if let matchScratch { return matchScratch }
        let fresh = MatchScratch()
        self.matchScratch = fresh
        return fresh
    }
}

/// The candidate lists of `RouteTable.match(_:scratch:)`, reused between matches (one per
/// connection: its capacity stays, its contents do not).
public struct RouteScratch {
    var lists: [ArraySlice<Int32>] = []

    public init() {}
}
