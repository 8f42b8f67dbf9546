public import TurnpikeModel

/// The route a request matched, and what its path criterion matched.
public struct RouteMatch: Sendable {
    /// Index of the matched route in the `[Route]` given to `RouteTableBuilder.build`.
    public let routeIndex: Int
    public let routeID: EntityID
    /// The priority of the (possibly split) entry that matched; for diagnostics.
    public let priority: UInt64
    /// Length of the matched part at the start of the path: the prefix for a prefix path, the
    /// whole regex match for a regex path; nil when the route has no path criterion. This is
    /// what `strip_path` removes (kong/router/utils.lua).
    public let matchedPathLength: Int?
    /// Regex captures (Kong's `uri_captures`); nil for prefix paths and regexes without groups.
    public let captures: RegexCaptures?

    /// The matched part of `path` (pass the request's normalised path).
    public func matchedPath(in path: [UInt8]) -> ArraySlice<UInt8>? {
        guard let n = self.matchedPathLength else { return nil }
        return path[0..<min(n, path.count)]
    }
}

/// Captures of a regex path: index 0 the whole match, 1...n the groups, plus the named groups.
/// A group that did not take part is nil.
public struct RegexCaptures: Sendable {
    public let groups: [[UInt8]?]
    /// Named groups in group-number order.
    public let named: [(name: String, value: [UInt8]?)]

    public init(groups: [[UInt8]?], named: [(name: String, value: [UInt8]?)]) {
        self.groups = groups
        self.named = named
    }

    /// The value of the named group `name`, nil when absent or unset.
    public func named(_ name: String) -> [UInt8]? {
        for entry in self.named where entry.name == name { return entry.value }
        return nil
    }

    /// Group `index` decoded as UTF-8 (lossy), nil when absent or unset.
    public func string(_ index: Int) -> String? {
        guard index < self.groups.count, let bytes = self.groups[index] else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
