public import TurnpikeModel

/// How route priorities are computed.
public enum PriorityMode: Sendable, Hashable {
    /// What Kong 3.x OSS computes (kong/router/transform.lua, `get_priority`): most fields shifted in 32 bits and
    /// sign-extended. The default; routes the same requests as Kong.
    case kongCompatible
    /// The layout Kong documents (Kong EE's `route_match_calculation = strict`): criteria count in
    /// bits 61-63, plain-hosts bit 60, header count in bits 52-59, regex bit 51, regex_priority
    /// from bit 19, prefix length in bits 0-18.
    case strict
}

/// Kong's compat-router priority of a route, and the way routes with several paths are split.
public enum RoutePriority {
    /// Namespace of the ids Kong gives split routes (`kong/router/compat.lua`).
    public static let splitNamespace = EntityID("7f145bf9-0dce-4f91-98eb-debbce4b9f6b")!

    /// Most header names counted in the priority (Kong caps and logs a warning).
    static let maxHeaderCount = 255

    /// The priority of `route` as if its paths were `paths` (pass the paths of one split group;
    /// by default the route's own paths, which must then all be regexes or all prefixes of one
    /// length, as after splitting). Higher wins; compare as unsigned.
    public static func priority(
        of route: Route,
        paths: [String]? = nil,
        mode: PriorityMode = .kongCompatible
    )
        -> UInt64
    {
        let paths = paths ?? route.paths
        var criteria: UInt64 = 0
        if let m = route.methods, !m.isEmpty { criteria += 1 }
        if let h = route.hosts, !h.isEmpty { criteria += 1 }
        if let s = route.snis, !s.isEmpty { criteria += 1 }
        var headerCount = route.headers?.count ?? 0
        if headerCount > 0 {
            criteria += 1
            headerCount = min(headerCount, Self.maxHeaderCount)
        }
        var isRegex = false
        var prefixLength = 0
        if let paths, let first = paths.first {
            criteria += 1
            if first.utf8.first == UInt8(ascii: "~") {
                isRegex = true
            } else {
                prefixLength = first.utf8.count
            }
        }
        // `hosts: []` still counts as "plain hosts only" (Kong tests `type(hosts) == "table"`).
        var plainHostsOnly = false
        if let hosts = route.hosts {
            plainHostsOnly = !hosts.contains { $0.utf8.contains(UInt8(ascii: "*")) }
        }
        let regexPriority = isRegex ? route.regexPriority : 0
        let length = UInt64(prefixLength) & 0x7FFFF

        var value: UInt64
        switch mode {
        case .kongCompatible:
            // LuaJIT's bit.lshift works on 32-bit integers (shift count mod 32) and returns a
            // signed result; bor with the 64-bit flag constants sign-extends it.
            value =
                Self.shift32(Int64(criteria), 61) | Self.shift32(Int64(headerCount), 52)
                | Self.shift32(Int64(regexPriority), 19) | length
        case .strict:
            value =
                criteria << 61 | UInt64(headerCount) << 52
                | UInt64(bitPattern: Int64(regexPriority)) << 19 | length
        }
        if plainHostsOnly { value |= 1 << 60 }
        if isRegex { value |= 1 << 51 }
        return value
    }

    /// `sx(x << (n mod 32))` on 32 bits, sign-extended to 64 and read as unsigned.
    static func shift32(_ x: Int64, _ n: Int) -> UInt64 {
        let low = UInt32(truncatingIfNeeded: x) << UInt32(n & 31)
        return UInt64(bitPattern: Int64(Int32(bitPattern: low)))
    }

    /// One group of a split route: the paths it holds and the id used for tie-breaks.
    public struct Group: Sendable, Hashable {
        /// Kong's group key: `"true"` for the regex group, the prefix length in bytes for a
        /// prefix group; nil when the route is not split.
        public let key: String?
        public let paths: [String]?
        /// Indices of `paths` in the route's `paths`.
        public let pathIndices: [Int]
        public let sortID: EntityID
    }

    /// Kong's split (`split_route_by_path_into`): a route with two or more paths becomes one
    /// virtual route per group (all regexes; each prefix length). Kong splits whenever there are
    /// two or more paths, even when they form one group, and names each part
    /// `uuid5(7f145bf9-..., "<route id>#<key>")`, where `key` is Lua's `tostring` of the group key:
    /// `true` for the regexes, the prefix length for a prefix group. Groups come back in order of
    /// first appearance in `paths`.
    public static func groups(of route: Route) -> [Group] {
        guard let paths = route.paths, paths.count > 1 else {
            return [
                Group(key: nil, paths: route.paths, pathIndices: Array((route.paths ?? []).indices), sortID: route.id)
            ]
        }
        var order: [String] = []
        var members: [String: [Int]] = [:]
        for (index, path) in paths.enumerated() {
            let key = path.utf8.first == UInt8(ascii: "~") ? "true" : String(path.utf8.count)
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(index)
        }
        let routeID = route.id.description
        return order.map { key in
            let indices = members[key]!
            return Group(
                key: key,
                paths: indices.map { paths[$0] },
                pathIndices: indices,
                sortID: EntityID.v5(namespace: splitNamespace, name: "\(routeID)#\(key)")
            )
        }
    }
}
