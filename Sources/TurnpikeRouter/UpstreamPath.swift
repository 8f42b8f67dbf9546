/// The path sent upstream (kong/router/utils.lua `get_upstream_uri_v0`, Kong's `path_handling: v0`; spec/fixtures/router_path_handling_tests.lua) and
/// `X-Forwarded-Prefix`. Pure functions on the normalised request path.
public enum UpstreamPath {
    /// Joins the service path and the request path.
    /// - Parameters:
    ///   - servicePath: the service's `path`; nil means `/`.
    ///   - requestPath: the normalised request path (no query).
    ///   - matchedLength: `RouteMatch.matchedPathLength`: bytes at the start of `requestPath`
    ///     that the route's path matched; nil when the route has no path criterion.
    ///   - stripPath: the route's `strip_path`.
    public static func join(
        servicePath: [UInt8]?,
        requestPath: [UInt8],
        matchedLength: Int?,
        stripPath: Bool
    ) -> [UInt8] {
        Self.parts(
            servicePath: servicePath,
            requestPath: requestPath,
            matchedLength: matchedLength,
            stripPath: stripPath
        ).joined
    }

    /// An upstream path as pieces of the service path and the request path: `head`, then `/`
    /// when `slash`, then `tail`. Written out piece by piece, it needs no array of its own.
    public struct Parts: Sendable {
        public var head: ArraySlice<UInt8>
        public var slash: Bool
        public var tail: ArraySlice<UInt8>

        public var count: Int { self.head.count + (self.slash ? 1 : 0) + self.tail.count }
        public var joined: [UInt8] { Array(self.head) + (self.slash ? [UInt8(ascii: "/")] : []) + self.tail }
    }

    static let root: [UInt8] = [UInt8(ascii: "/")]

    /// `join`, as pieces (same parameters).
    public static func parts(
        servicePath: [UInt8]?,
        requestPath req: [UInt8],
        matchedLength: Int?,
        stripPath: Bool
    ) -> Parts {
        let slash = UInt8(ascii: "/")
        let base = servicePath.map { $0[...] } ?? Self.root[...]
        let none = req[req.endIndex...]
        guard stripPath else {
            if base.last == slash {
                return Parts(head: base, slash: false, tail: req.dropFirst(req.first == slash ? 1 : 0))
            }
            if req.count == 1 && req.first == slash { return Parts(head: base, slash: false, tail: none) }
            return Parts(head: base, slash: false, tail: req[...])
        }
        let post = Self.postfix(requestPath: req, matchedLength: matchedLength)
        if base.last == slash {
            if post.isEmpty {
                // `/` alone, or a request path ending in `/`, keeps the base's slash.
                if base.count == 1 || req.last == slash { return Parts(head: base, slash: false, tail: none) }
                return Parts(head: base.dropLast(), slash: false, tail: none)
            }
            if post.first == slash { return Parts(head: base.dropLast(), slash: false, tail: post) }
            return Parts(head: base, slash: false, tail: post)
        }
        if post.isEmpty {
            return Parts(head: base, slash: req.count > 1 && req.last == slash, tail: none)
        }
        return Parts(head: base, slash: post.first != slash, tail: post)
    }

    /// `req` without `pre` (the matched part, else `/`), cleaned as Kong's `sanitize_uri_postfix`:
    /// `.` and `..` become empty, one leading `./` or `../` is dropped.
    static func postfix(requestPath req: [UInt8], matchedLength: Int?) -> ArraySlice<UInt8> {
        let dot = UInt8(ascii: "."), slash = UInt8(ascii: "/")
        let cut = min(matchedLength ?? (req.first == slash ? 1 : 0), req.count)
        let post = req[cut...]
        if post.elementsEqual([dot]) || post.elementsEqual([dot, dot]) { return [] }
        if post.starts(with: [dot, slash]) { return post.dropFirst(2) }
        if post.starts(with: [dot, dot, slash]) { return post.dropFirst(3) }
        return post
    }

    /// The `X-Forwarded-Prefix` value Kong sends when the client sent none it trusts: the
    /// stripped prefix, only when `strip_path` removed a matched part other than `/`.
    public static func forwardedPrefix(
        requestPath: [UInt8],
        matchedLength: Int?,
        stripPath: Bool
    ) -> ArraySlice<UInt8>? {
        guard stripPath, let n = matchedLength else { return nil }
        let prefix = requestPath.prefix(n)
        if prefix.isEmpty || (prefix.count == 1 && prefix.first == UInt8(ascii: "/")) { return nil }
        return prefix
    }

    /// String convenience for tools and tests (UTF-8 in, lossy UTF-8 out).
    public static func join(servicePath: String?, requestPath: String, matchedLength: Int?, stripPath: Bool) -> String {
        let bytes = Self.join(
            servicePath: servicePath.map { Array($0.utf8) },
            requestPath: Array(requestPath.utf8),
            matchedLength: matchedLength,
            stripPath: stripPath
        )
        return String(decoding: bytes, as: UTF8.self)
    }
}
