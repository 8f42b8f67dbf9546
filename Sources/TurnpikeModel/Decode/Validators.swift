/// Kong's field rules (typedefs) that several entities share. Each returns nil when the value is
/// fine, else Kong's message.
public enum Validators {
    static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }

    static func isHex(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
    }

    /// Entity names (services, routes, upstream-less names, plugin instance names).
    public static func name(_ v: String) -> String? {
        for c in v.utf8 where c < 0x80 {
            if isAlnum(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
                || c == UInt8(ascii: "~")
            {
                continue
            }
            return
                "invalid value '\(Record.printable(v))': the only accepted ascii characters are alphanumerics or ., -, _, and ~"
        }
        return nil
    }

    /// A tag: printable ASCII except `,` and `/`, or any non-ASCII UTF-8.
    public static func tag(_ v: String) -> String? {
        for c in v.utf8 where c < 0x80 {
            if c < 0x20 || c == 0x7F || c == UInt8(ascii: ",") || c == UInt8(ascii: "/") {
                return
                    "invalid tag '\(Record.printable(v))': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"
            }
        }
        return nil
    }

    /// HTTP header names as Kong's `typedefs.header_name` accepts them.
    public static func headerName(_ v: String) -> String? {
        for c in v.utf8 where !(isAlnum(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")) {
            return "bad header name '\(Record.printable(v))', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
        }
        return nil
    }

    public static func isIPv4(_ v: String) -> Bool {
        let parts = v.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(p), n <= 255
            else {
                return false
            }
        }
        return true
    }

    public static func isIPv6(_ v: String) -> Bool {
        // Fast exit for the common `host` and `host:port`: IPv6 has at least two colons.
        var colons = 0
        for c in v.utf8 where c == UInt8(ascii: ":") { colons += 1 }
        guard colons >= 2 else { return false }
        var s = Substring(v)
        // An embedded IPv4 tail (`::ffff:1.2.3.4`) counts as two groups.
        var extraGroups = 0
        if let lastColon = s.lastIndex(of: ":"), s[s.index(after: lastColon)...].contains(".") {
            guard isIPv4(String(s[s.index(after: lastColon)...])) else { return false }
            s = s[...lastColon] + "0"
            extraGroups = 1
        }
        let doubleColons = s.ranges(of: "::").count
        guard doubleColons <= 1 else { return false }
        let groups = s.split(separator: ":", omittingEmptySubsequences: true)
        for g in groups {
            guard g.count <= 4, g.utf8.allSatisfy(isHex) else { return false }
        }
        if doubleColons == 0 {
            guard !s.hasPrefix(":"), !s.hasSuffix(":") else { return false }
            return groups.count + extraGroups == 8
        }
        return groups.count + extraGroups <= 7
    }

    /// A DNS host name: labels of letters, digits, `-` and `_` separated by dots, no label ending
    /// in `-`, an optional trailing dot.
    public static func isHostname(_ v: String) -> Bool {
        var labels = v.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count > 1, labels.last?.isEmpty == true { labels.removeLast() }
        guard !labels.isEmpty, v.utf8.count <= 255 else { return false }
        for label in labels {
            guard !label.isEmpty, label.utf8.count <= 63, label.last != "-" else { return false }
            guard label.utf8.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
                return false
            }
        }
        return true
    }

    /// Splits `host:port`, `[v6]:port`, `[v6]`, bare IPv6 or `host`. Port is nil when absent;
    /// returns nil when a port is present but not a number 0...65535.
    public static func splitHostPort(_ v: String) -> (host: String, port: Int?)? {
        if v.hasPrefix("[") {
            guard let close = v.firstIndex(of: "]") else { return nil }
            let host = String(v[v.index(after: v.startIndex)..<close])
            let rest = v[v.index(after: close)...]
            if rest.isEmpty { return (host, nil) }
            guard rest.hasPrefix(":"), let p = parsePort(rest.dropFirst()) else { return nil }
            return (host, p)
        }
        if isIPv6(v) { return (v, nil) }
        if let colon = v.lastIndex(of: ":") {
            guard let p = parsePort(v[v.index(after: colon)...]) else { return nil }
            return (String(v[..<colon]), p)
        }
        return (v, nil)
    }

    static func parsePort(_ s: Substring) -> Int? {
        guard !s.isEmpty, s.count <= 5, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(s), n <= 65535
        else {
            return nil
        }
        return n
    }

    /// Service `host`: a host name or IP address, without a port.
    public static func host(_ v: String) -> String? {
        if isIPv4(v) || isIPv6(v) || isHostname(v) { return nil }
        if let hp = splitHostPort(v), hp.port != nil, isIPv4(hp.host) || isIPv6(hp.host) || isHostname(hp.host) {
            return "must not have a port"
        }
        return "invalid value: \(Record.printable(v))"
    }

    /// Service `path` (Kong's `typedefs.path`).
    public static func path(_ v: String) -> String? {
        guard v.hasPrefix("/") else { return "should start with: /" }
        if v.contains("//") { return "must not have empty segments" }
        let bytes = Array(v.utf8)
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, isHex(bytes[i + 1]), isHex(bytes[i + 2]) else {
                    let end = min(bytes.count, i + 3)
                    return "invalid url-encoded value: '\(String(decoding: bytes[i..<end], as: UTF8.self))'"
                }
                i += 3
                continue
            }
            if !isPathChar(c) {
                return
                    "invalid path: '\(Record.printable(v))' (characters outside of the reserved list of RFC 3986 found)"
            }
            i += 1
        }
        return nil
    }

    /// RFC 3986 unreserved, sub-delims, `:`, `@`, `/`.
    static func isPathChar(_ c: UInt8) -> Bool {
        if isAlnum(c) { return true }
        switch c {
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
            UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
            UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
            UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }

    /// Truncates a value for a message; never use on secrets.
    public static func quoted(_ v: String) -> String { "'\(Record.printable(v))'" }
}
