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
    /// default port; a string without an authority is its own domain and host. Works on bytes
    /// (no grapheme breaking): it runs on every answer of a cors route.
    static func normalize(_ origin: String) -> (domain: String, host: String) {
        let bytes = origin.utf8
        var i = bytes.startIndex
        var scheme: String.UTF8View.SubSequence?
        // A scheme: letters, digits, `+`, `-`, `.` up to the first `:`.
        var j = i
        while j < bytes.endIndex {
            let c = bytes[j]
            let isScheme =
                (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2B
                || c == 0x2D || c == 0x2E
            if !isScheme { break }
            j = bytes.index(after: j)
        }
        if j < bytes.endIndex, bytes[j] == UInt8(ascii: ":"), j > i {
            scheme = bytes[i..<j]
            i = bytes.index(after: j)
        }
        guard bytes.distance(from: i, to: bytes.endIndex) >= 2, bytes[i] == UInt8(ascii: "/"),
            bytes[bytes.index(after: i)] == UInt8(ascii: "/")
        else { return (origin, origin) }
        i = bytes.index(i, offsetBy: 2)
        var end = i
        while end < bytes.endIndex, bytes[end] != UInt8(ascii: "/"), bytes[end] != UInt8(ascii: "?"),
            bytes[end] != UInt8(ascii: "#")
        {
            end = bytes.index(after: end)
        }
        // Without user info.
        var start = i
        var k = i
        while k < end {
            if bytes[k] == UInt8(ascii: "@") { start = bytes.index(after: k) }
            k = bytes.index(after: k)
        }
        var hostEnd = end
        var portStart: String.UTF8View.Index?
        if start < end, bytes[start] == UInt8(ascii: "[") {
            var close = start
            while close < end, bytes[close] != UInt8(ascii: "]") { close = bytes.index(after: close) }
            if close < end {
                hostEnd = bytes.index(after: close)
                if hostEnd < end, bytes[hostEnd] == UInt8(ascii: ":") { portStart = bytes.index(after: hostEnd) }
            }
        } else {
            var c = end
            while c > start {
                let p = bytes.index(before: c)
                if bytes[p] == UInt8(ascii: ":") {
                    hostEnd = p
                    portStart = c
                    break
                }
                c = p
            }
        }
        guard start < hostEnd else { return (origin, origin) }
        let host = String(decoding: bytes[start..<hostEnd], as: UTF8.self)
        var port = portStart.map { String(decoding: bytes[$0..<end], as: UTF8.self) }
        let schemeText = scheme.map { String(decoding: $0, as: UTF8.self) }
        if (schemeText == "http" && port == "80") || (schemeText == "https" && port == "443") { port = nil }
        var domain = ""
        domain.reserveCapacity(origin.utf8.count)
        if let schemeText { domain += schemeText + "://" }
        domain += host
        if let port { domain += ":" + port }
        return (domain, host)
    }
}
