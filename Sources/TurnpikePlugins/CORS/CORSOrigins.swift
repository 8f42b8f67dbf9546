import TurnpikeRegex

/// cors's `origins`, compiled once (kong/plugins/cors/handler.lua `configure_origin`): all
/// origins (none configured, or just `*`), one plain origin always sent as it is, or a list of
/// plain origins (compared after normalization) and regexes (a string with a character outside
/// `A-Za-z0-9.:/-`, anchored at both ends, matched against the origin's host when the pattern has
/// no `:`, else against the whole normalized origin). A `*` in a list allows all.
enum CORSOrigins {
    case allowAll
    case single(String)
    case list([Matcher], containsStar: Bool)

    enum Matcher {
        case domain(String)
        case regex(CompiledRegex, byHost: Bool)
    }

    static let limits = RegexMatchLimits()

    init(_ origins: [String]) {
        if origins.isEmpty || origins == ["*"] {
            self = .allowAll
            return
        }
        if origins.count == 1, !Self.looksLikeRegex(origins[0]) {
            self = .single(origins[0])
            return
        }
        var matchers: [Matcher] = []
        for entry in origins where entry != "*" {
            if Self.looksLikeRegex(entry) {
                // Kong 0.x did not anchor: a pattern gets `$` unless it ends with one, loses a
                // leading `^`, and is matched from the start.
                var pattern = Substring(entry)
                if pattern.first == "^" { pattern = pattern.dropFirst() }
                let anchored = "^(?:" + pattern + (entry.hasSuffix("$") ? "" : "$") + ")"
                if let regex = try? CompiledRegex.compile(anchored, limits: Self.limits, dialect: .nginx).get() {
                    matchers.append(.regex(regex, byHost: !entry.contains(":")))
                }
            } else {
                matchers.append(.domain(Self.normalize(entry).domain))
            }
        }
        self = .list(matchers, containsStar: origins.contains("*"))
    }

    /// Kong's test for a regex: any character outside `A-Za-z0-9.:/-`.
    static func looksLikeRegex(_ s: String) -> Bool {
        s.utf8.contains { c in
            !((c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2E
                || c == 0x3A || c == 0x2F || c == 0x2D)
        }
    }

    static func isRegex(_ s: String) -> Bool {
        (try? CompiledRegex.compile(s, limits: Self.limits, dialect: .nginx).get()) != nil
    }

    /// Kong's `normalize_origin` (LuaSocket's `url.parse`): `scheme://host[:port]` without a
    /// default port; a string without an authority is its own domain and host.
    static func normalize(_ origin: String) -> (domain: String, host: String) {
        var rest = Substring(origin)
        var scheme: Substring?
        if let colon = rest.firstIndex(of: ":"),
            rest[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }),
            !rest[..<colon].isEmpty
        {
            scheme = rest[..<colon]
            rest = rest[rest.index(after: colon)...]
        }
        guard rest.hasPrefix("//") else { return (origin, origin) }
        rest = rest.dropFirst(2)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
        var host = hostPort
        var port: Substring?
        if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
            host = hostPort[...close]
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") { port = after.dropFirst() }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]
            port = hostPort[hostPort.index(after: colon)...]
        }
        guard !host.isEmpty else { return (origin, origin) }
        if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") { port = nil }
        let domain = (scheme.map { $0 + "://" } ?? "") + host + (port.map { ":" + $0 } ?? "")
        return (domain, String(host))
    }
}
