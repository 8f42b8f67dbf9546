public import TurnpikeModel
import TurnpikeRegex

/// A route regex PCRE2 rejected, located so the caller can point at the file.
public struct RouteProblem: Sendable, Hashable, CustomStringConvertible {
    public enum Field: Sendable, Hashable {
        /// `paths[index]` of the route.
        case path(index: Int)
        /// `headers.<name>[index]` of the route (a `~*` value).
        case header(name: String, index: Int)
    }

    /// Index of the route in the array given to `build`.
    public let routeIndex: Int
    public let field: Field
    /// `invalid regex: '<regex>' (PCRE returned: <PCRE2 message>)`.
    public let message: String

    /// The path index, when the problem is in `paths`.
    public var pathIndex: Int? {
        if case .path(let index) = self.field { return index }
        return nil
    }

    public var description: String {
        switch self.field {
        case .path(let index): return "routes[\(self.routeIndex)].paths[\(index)]: \(self.message)"
        case .header(let name, let index):
            return "routes[\(self.routeIndex)].headers.\(name)[\(index)]: \(self.message)"
        }
    }
}

/// Every problem found while compiling a route table.
public struct RouteTableError: Error, Sendable, CustomStringConvertible {
    public let problems: [RouteProblem]
    public var description: String { self.problems.map(\.description).joined(separator: "\n") }
}

/// Compiles routes into a `RouteTable`: splits multi-path routes, ranks entries as Kong's compat
/// router does, compiles regexes (PCRE2 + JIT) and builds the host and path indexes.
/// Runs off the event loops (it allocates and compiles); the result is immutable.
public struct RouteTableBuilder: Sendable {
    public var priorityMode: PriorityMode

    public init(priorityMode: PriorityMode = .kongCompatible) {
        self.priorityMode = priorityMode
    }

    /// Builds the table for `routes`. `include` decides per route (index, route) whether it takes
    /// part (e.g. false for routes of disabled services); skipped routes keep their index.
    /// Routes whose protocols are all stream protocols (tcp, tls, udp, tls_passthrough) are
    /// skipped too. Throws every regex PCRE2 rejects.
    public func build(
        _ routes: [Route],
        include: (Int, Route) -> Bool = { _, _ in true }
    )
        throws(RouteTableError) -> RouteTable
    {
        let limits = RegexMatchLimits()
        var problems: [RouteProblem] = []
        var entries: [VirtualRoute] = []
        var headerNames: [String: Int] = [:]
        var cache: [String: CompiledRegex] = [:]

        func compile(_ pattern: String) -> Result<CompiledRegex, RegexCompileError> {
            let key = pattern
            if let hit = cache[key] { return .success(hit) }
            let result = CompiledRegex.compile(pattern, limits: limits)
            if case .success(let regex) = result { cache[key] = regex }
            return result
        }
        func invalid(_ pattern: String, _ error: RegexCompileError) -> String {
            "invalid regex: '\(pattern)' (PCRE returned: \(error.message))"
        }

        for (routeIndex, route) in routes.enumerated() {
            guard include(routeIndex, route) else { continue }
            let httpProtocols: Set<EntityProtocol> = [.http, .https, .grpc, .grpcs]
            guard route.protocols.contains(where: httpProtocols.contains) else { continue }

            var headers: [HeaderCriterion] = []
            var routeOK = true
            for (name, values) in route.headers ?? [] {
                let key = ASCII.headerKey(name)
                let id: Int
                if let known = headerNames[key] {
                    id = known
                } else {
                    id = headerNames.count
                    headerNames[key] = id
                }
                var plain: [[UInt8]] = []
                var regexes: [CompiledRegex] = []
                for (valueIndex, value) in values.enumerated() {
                    let lowered = ASCII.lowercased(value.utf8)
                    if lowered.starts(with: [UInt8(ascii: "~"), UInt8(ascii: "*")]) {
                        let pattern = String(decoding: lowered.dropFirst(2), as: UTF8.self)
                        switch compile(pattern) {
                        case .success(let regex): regexes.append(regex)
                        case .failure(let error):
                            routeOK = false
                            problems.append(
                                RouteProblem(
                                    routeIndex: routeIndex,
                                    field: .header(name: name, index: valueIndex),
                                    message: invalid(String(value.dropFirst(2)), error)
                                )
                            )
                        }
                    } else {
                        plain.append(lowered)
                    }
                }
                headers.append(HeaderCriterion(nameID: id, values: plain, regexes: regexes))
            }
            let methods = route.methods.flatMap { $0.isEmpty ? nil : $0.map { Array($0.utf8) } }
            let hosts = (route.hosts ?? []).map(HostPattern.init)
            let snis = (route.snis ?? []).map(SNIPattern.init)

            for group in RoutePriority.groups(of: route) {
                var prefixes: [[UInt8]] = []
                var regexes: [CompiledRegex] = []
                for (path, pathIndex) in zip(group.paths ?? [], group.pathIndices) {
                    if path.utf8.first == UInt8(ascii: "~") {
                        let pattern = String(path.dropFirst())
                        // As Kong's compat router: `"^" .. regex`, not a group, so in `/a|/b` only
                        // the first alternative is anchored.
                        switch compile("^" + pattern) {
                        case .success(let regex): regexes.append(regex)
                        case .failure(let error):
                            routeOK = false
                            problems.append(
                                RouteProblem(
                                    routeIndex: routeIndex,
                                    field: .path(index: pathIndex),
                                    message: invalid(pattern, error)
                                )
                            )
                        }
                    } else {
                        prefixes.append(Array(path.utf8))
                    }
                }
                guard routeOK else { continue }
                entries.append(
                    VirtualRoute(
                        routeIndex: routeIndex,
                        routeID: route.id,
                        sortID: group.sortID,
                        priority: RoutePriority.priority(of: route, paths: group.paths, mode: self.priorityMode),
                        methods: methods,
                        hosts: hosts,
                        snis: snis,
                        headers: headers,
                        prefixes: prefixes,
                        regexes: regexes
                    )
                )
            }
        }
        guard problems.isEmpty else { throw RouteTableError(problems: problems) }

        // Kong's order: priority descending, ties to the larger id. Input order settles what is
        // left (two entries with one id), so the result never depends on the sort algorithm.
        entries = entries.enumerated().sorted { a, b in
            if a.element.priority != b.element.priority { return a.element.priority > b.element.priority }
            if a.element.sortID != b.element.sortID { return a.element.sortID > b.element.sortID }
            return a.offset < b.offset
        }.map(\.element)

        var exactHosts: [String: Int] = [:]
        var suffixHosts: [String: Int] = [:]
        var prefixHosts: [String: Int] = [:]
        var builders: [PathMatcher.Builder] = [PathMatcher.Builder()]
        let anyHostBucket = 0
        func bucket(_ pattern: HostPattern) -> Int {
            let key = String(decoding: pattern.name, as: UTF8.self)
            func lookup(_ table: inout [String: Int]) -> Int {
                if let b = table[key] { return b }
                builders.append(PathMatcher.Builder())
                table[key] = builders.count - 1
                return builders.count - 1
            }
            switch pattern.kind {
            case .exact: return lookup(&exactHosts)
            case .suffix: return lookup(&suffixHosts)
            case .prefix: return lookup(&prefixHosts)
            }
        }
        for (rank, entry) in entries.enumerated() {
            let targets = entry.hosts.isEmpty ? [anyHostBucket] : entry.hosts.map(bucket)
            for b in targets {
                if entry.prefixes.isEmpty {
                    builders[b].addAlways(rank: Int32(rank))
                } else {
                    for prefix in entry.prefixes { builders[b].add(prefix: prefix, rank: Int32(rank)) }
                }
            }
        }
        return RouteTable(
            entries: entries,
            exactHosts: exactHosts,
            suffixHosts: suffixHosts,
            prefixHosts: prefixHosts,
            anyHostBucket: anyHostBucket,
            buckets: builders.map { $0.freeze() },
            headerNames: headerNames
        )
    }
}
