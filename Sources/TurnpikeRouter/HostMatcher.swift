/// Host, port and SNI rules of Kong's traditional_compatible router (kong/router/transform.lua), on bytes (Kong compares bytes, case-sensitively).
enum HostMatcher {
    /// Kong's `split_host_port`: split at the first `:` when the rest is a number; otherwise the
    /// whole value is the host and there is no port (so `[::1]:80` stays one host, as in Kong).
    static func split(_ value: some Collection<UInt8>) -> (host: [UInt8], port: Int?) {
        guard let colon = value.firstIndex(of: UInt8(ascii: ":")) else { return (Array(value), nil) }
        let rest = value[value.index(after: colon)...]
        guard let port = parsePort(rest) else { return (Array(value), nil) }
        return (Array(value[..<colon]), port)
    }

    /// Decimal digits only; nil when empty, not digits, or absurdly long.
    static func parsePort(_ digits: some Collection<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 9 else { return nil }
        var n = 0
        for c in digits {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            n = n * 10 + Int(c - UInt8(ascii: "0"))
        }
        return n
    }

    static func hasPrefix(_ value: [UInt8], _ prefix: [UInt8]) -> Bool {
        value.count >= prefix.count
            && value.withUnsafeBufferPointer { v in
                prefix.withUnsafeBufferPointer { p in v.prefix(p.count).elementsEqual(p) }
            }
    }

    static func hasSuffix(_ value: [UInt8], _ suffix: [UInt8]) -> Bool {
        value.count >= suffix.count
            && value.withUnsafeBufferPointer { v in
                suffix.withUnsafeBufferPointer { s in v.suffix(s.count).elementsEqual(s) }
            }
    }
}

/// One `hosts` element of a route, compiled.
struct HostPattern: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// `name` equals the host.
        case exact
        /// `*.example.com`: `name` is `.example.com`; the host must end with it.
        case suffix
        /// `example.*`: `name` is `example.`; the host must start with it.
        case prefix
    }

    let kind: Kind
    let name: [UInt8]
    /// Set for `h:p`: the request's port must equal it.
    let port: Int?

    init(_ text: String) {
        let (host, port) = HostMatcher.split(Array(text.utf8))
        self.port = port
        if host.first == UInt8(ascii: "*") {
            self.kind = .suffix
            self.name = Array(host.dropFirst())
        } else if host.last == UInt8(ascii: "*") {
            self.kind = .prefix
            self.name = Array(host.dropLast())
        } else {
            self.kind = .exact
            self.name = host
        }
    }

    /// `host` is the Host header without its port; `port` is its port, else the arrival port.
    func matches(host: [UInt8], port: Int) -> Bool {
        if let wanted = self.port, wanted != port { return false }
        switch self.kind {
        case .exact: return host == self.name
        case .suffix: return HostMatcher.hasSuffix(host, self.name)
        case .prefix: return HostMatcher.hasPrefix(host, self.name)
        }
    }
}

/// One `snis` element: exact, `*` leading (suffix match) or trailing (prefix match).
struct SNIPattern: Sendable, Hashable {
    let kind: HostPattern.Kind
    let name: [UInt8]

    init(_ text: String) {
        var bytes = Array(text.utf8)
        // Kong ignores the final dot of an FQDN in `snis`.
        if bytes.count > 1, bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        if bytes.first == UInt8(ascii: "*") {
            self.kind = .suffix
            self.name = Array(bytes.dropFirst())
        } else if bytes.last == UInt8(ascii: "*") {
            self.kind = .prefix
            self.name = Array(bytes.dropLast())
        } else {
            self.kind = .exact
            self.name = bytes
        }
    }

    func matches(_ sni: [UInt8]) -> Bool {
        switch self.kind {
        case .exact: return sni == self.name
        case .suffix: return HostMatcher.hasSuffix(sni, self.name)
        case .prefix: return HostMatcher.hasPrefix(sni, self.name)
        }
    }
}
