/// The path sent upstream (kong-format.md §5.5, Kong's `path_handling: v0`) and
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
    )
        -> [UInt8]
    {
        let slash = UInt8(ascii: "/")
        let base = servicePath ?? [slash]
        let req = requestPath
        guard stripPath else {
            if base.last == slash {
                return base + req.dropFirst(req.first == slash ? 1 : 0)
            }
            if req == [slash] { return base }
            return base + req
        }
        let post = Self.postfix(requestPath: req, matchedLength: matchedLength)
        if base.last == slash {
            if post.isEmpty {
                if base == [slash] { return base }
                if req.last == slash { return base }
                return Array(base.dropLast())
            }
            if post.first == slash { return base.dropLast() + post }
            return base + post
        }
        if post.isEmpty {
            if req.count > 1 && req.last == slash { return base + [slash] }
            return base
        }
        if post.first == slash { return base + post }
        return base + [slash] + post
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
    public static func forwardedPrefix(requestPath: [UInt8], matchedLength: Int?, stripPath: Bool) -> [UInt8]? {
        guard stripPath, let n = matchedLength else { return nil }
        let prefix = Array(requestPath.prefix(n))
        if prefix.isEmpty || prefix == [UInt8(ascii: "/")] { return nil }
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
