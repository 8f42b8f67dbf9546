import NIOHTTP1

/// Header rewriting between client and upstream (kong-format.md §5.7–5.9). Pure functions, on
/// the hot path: names are compared case-insensitively in place, without lower-cased copies.
enum HeaderRules {
    /// ASCII case-insensitive equality with a lower-case literal.
    @inline(__always)
    static func equals(_ name: String, _ lower: StaticString) -> Bool {
        let count = lower.utf8CodeUnitCount
        guard name.utf8.count == count else { return false }
        return lower.withUTF8Buffer { literal in
            var i = 0
            for c in name.utf8 {
                let folded = (c >= 0x41 && c <= 0x5A) ? c | 0x20 : c
                if folded != literal[i] { return false }
                i += 1
            }
            return true
        }
    }

    enum Kind {
        /// Connection-level (RFC 9110 §7.6.1): never forwarded.
        case hopByHop
        /// Replaced by the gateway's own value (no trusted_ips configured).
        case replaced
        case forwardedFor
        case via
        case te
        case server
        case other
    }

    static func classify(_ name: String) -> Kind {
        switch name.utf8.count {
        case 2:
            if equals(name, "te") { return .te }
        case 3:
            if equals(name, "via") { return .via }
        case 4:
            if equals(name, "host") { return .replaced }
        case 5:
            if equals(name, "proxy") { return .hopByHop }
        case 6:
            if equals(name, "server") { return .server }
        case 7:
            if equals(name, "trailer") || equals(name, "upgrade") { return .hopByHop }
        case 9:
            if equals(name, "x-real-ip") { return .replaced }
        case 10:
            if equals(name, "connection") || equals(name, "keep-alive") { return .hopByHop }
        case 15:
            if equals(name, "x-forwarded-for") { return .forwardedFor }
        case 16:
            if equals(name, "proxy-connection") || equals(name, "x-forwarded-host") || equals(name, "x-forwarded-port")
                || equals(name, "x-forwarded-path")
            {
                return name.utf8.first == UInt8(ascii: "p") || name.utf8.first == UInt8(ascii: "P") ? .hopByHop : .replaced
            }
        case 17:
            if equals(name, "transfer-encoding") { return .hopByHop }
            if equals(name, "x-forwarded-proto") || equals(name, "x-kong-request-id") { return .replaced }
        case 18:
            if equals(name, "proxy-authenticate") { return .hopByHop }
            if equals(name, "x-forwarded-prefix") { return .replaced }
        default:
            break
        }
        return .other
    }

    /// Names listed in `Connection` headers, lower-cased (`close`, `keep-alive`, `upgrade`
    /// excluded); empty (no allocation) in the common case.
    static func connectionTokens(_ headers: HTTPHeaders) -> [String] {
        var out: [String] = []
        for (name, value) in headers where equals(name, "connection") {
            for token in value.split(separator: ",") {
                let t = token.trimmingCharacters(in: " \t").lowercased()
                if t.isEmpty || t == "close" || t == "keep-alive" || t == "upgrade" { continue }
                out.append(t)
            }
        }
        return out
    }

    static func isListed(_ name: String, in tokens: [String]) -> Bool {
        tokens.contains { $0.utf8.count == name.utf8.count && $0 == name.lowercased() }
    }

    /// The headers sent upstream: hop-by-hop removed, Kong's forwarding headers added.
    static func upstreamHeaders(
        client: HTTPHeaders,
        host: String,
        clientAddress: String,
        forwardedHost: String,
        forwardedPort: String,
        forwardedPath: String,
        forwardedPrefix: String?,
        requestID: String,
        via: String,
        webSocketUpgrade: Bool = false
    ) -> HTTPHeaders {
        let listed = Self.connectionTokens(client)
        var out = HTTPHeaders()
        out.reserveCapacity(client.count + 10)
        var forwardedFor: String?
        var clientVia: String?
        var teTrailers = false
        for (name, value) in client {
            switch Self.classify(name) {
            case .te:
                if value.lowercased().contains("trailers") { teTrailers = true }
            case .hopByHop, .replaced:
                continue
            case .forwardedFor:
                forwardedFor = forwardedFor.map { $0 + ", " + value } ?? value
            case .via:
                clientVia = clientVia.map { $0 + ", " + value } ?? value
            case .server, .other:
                if !listed.isEmpty && Self.isListed(name, in: listed) { continue }
                out.add(name: name, value: value)
            }
        }
        out.add(name: "Host", value: host)
        out.add(name: "X-Forwarded-For", value: forwardedFor.map { $0 + ", " + clientAddress } ?? clientAddress)
        out.add(name: "X-Forwarded-Proto", value: "http")
        out.add(name: "X-Forwarded-Host", value: forwardedHost)
        out.add(name: "X-Forwarded-Port", value: forwardedPort)
        out.add(name: "X-Forwarded-Path", value: forwardedPath)
        if let forwardedPrefix { out.add(name: "X-Forwarded-Prefix", value: forwardedPrefix) }
        out.add(name: "X-Real-IP", value: clientAddress)
        out.add(name: "Via", value: clientVia.map { $0 + ", " + via } ?? via)
        out.add(name: "X-Kong-Request-Id", value: requestID)
        if teTrailers { out.add(name: "TE", value: "trailers") }
        if webSocketUpgrade {
            // Kong keeps `Upgrade` for WebSocket only.
            out.add(name: "Connection", value: "keep-alive, Upgrade")
            out.add(name: "Upgrade", value: "websocket")
        } else {
            out.add(name: "Connection", value: "keep-alive")
        }
        return out
    }

    /// True for a WebSocket handshake request (`Connection: upgrade` and `Upgrade: websocket`).
    static func isWebSocketUpgrade(_ headers: HTTPHeaders) -> Bool {
        var connectionUpgrade = false
        var upgradeWebSocket = false
        for (name, value) in headers {
            if equals(name, "connection") {
                for token in value.split(separator: ",") where token.trimmingCharacters(in: " \t").lowercased() == "upgrade" {
                    connectionUpgrade = true
                }
            } else if equals(name, "upgrade"), value.lowercased().contains("websocket") {
                upgradeWebSocket = true
            }
        }
        return connectionUpgrade && upgradeWebSocket
    }

    /// The response head sent to the client: hop-by-hop removed, Via and Kong's latency headers.
    static func clientResponseHeaders(
        upstream: HTTPHeaders,
        via: String,
        serverToken: String,
        upstreamLatencyMs: Int64,
        proxyLatencyMs: Int64,
        requestID: String
    ) -> HTTPHeaders {
        let listed = Self.connectionTokens(upstream)
        var out = HTTPHeaders()
        out.reserveCapacity(upstream.count + 5)
        var upstreamVia: String?
        var hasServer = false
        for (name, value) in upstream {
            switch Self.classify(name) {
            case .hopByHop, .te:
                continue
            case .via:
                upstreamVia = upstreamVia.map { $0 + ", " + value } ?? value
                continue
            case .server:
                hasServer = true
            case .replaced, .forwardedFor, .other:
                break
            }
            if !listed.isEmpty && Self.isListed(name, in: listed) { continue }
            out.add(name: name, value: value)
        }
        if !hasServer { out.add(name: "Server", value: serverToken) }
        out.add(name: "Via", value: upstreamVia.map { $0 + ", " + via } ?? via)
        out.add(name: "X-Kong-Upstream-Latency", value: String(upstreamLatencyMs))
        out.add(name: "X-Kong-Proxy-Latency", value: String(proxyLatencyMs))
        out.add(name: "X-Kong-Request-Id", value: requestID)
        return out
    }

    /// Bytes allowed as they are in an upstream path; everything else is percent-encoded.
    static func isPathSafe(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"), UInt8(ascii: "!"),
            UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
            UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: "/"),
            UInt8(ascii: ":"), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: "?"), UInt8(ascii: "@"),
            UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "%"):
            return true
        default:
            return false
        }
    }

    static func encodePath(_ path: [UInt8]) -> String {
        if path.allSatisfy(isPathSafe) { return String(decoding: path, as: UTF8.self) }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(path.count + 16)
        for c in path {
            if isPathSafe(c) {
                out.append(c)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(c >> 4)])
                out.append(hex[Int(c & 0xf)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return s
    }
}
