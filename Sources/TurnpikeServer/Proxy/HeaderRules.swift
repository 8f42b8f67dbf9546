import NIOHTTP1

/// Header rewriting between client and upstream (kong-format.md §5.7–5.9). Pure functions.
enum HeaderRules {
    /// Connection-level headers that never cross the proxy (RFC 9110 §7.6.1).
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate",
    ]

    /// Names listed in a `Connection` header, lower-cased (`close`, `keep-alive`, `upgrade` excluded).
    static func connectionTokens(_ headers: HTTPHeaders) -> Set<String> {
        var out = Set<String>()
        for value in headers[canonicalForm: "connection"] {
            let token = value.lowercased()
            if token == "close" || token == "keep-alive" || token == "upgrade" { continue }
            out.insert(String(token))
        }
        return out
    }

    /// The headers sent upstream: hop-by-hop removed, Kong's forwarding headers added.
    static func upstreamHeaders(
        client: HTTPHeaders,
        host: String,
        clientAddress: String,
        forwardedHost: String,
        forwardedPort: Int,
        forwardedPath: String,
        forwardedPrefix: String?,
        requestID: String,
        via: String
    ) -> HTTPHeaders {
        let listed = Self.connectionTokens(client)
        var out = HTTPHeaders()
        out.reserveCapacity(client.count + 10)
        var forwardedFor: String?
        var clientVia: String?
        var teTrailers = false
        for (name, value) in client {
            let lower = name.lowercased()
            if lower == "te" {
                if value.lowercased().contains("trailers") { teTrailers = true }
                continue
            }
            if Self.hopByHop.contains(lower) || listed.contains(lower) { continue }
            switch lower {
            case "host", "x-real-ip", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-forwarded-path",
                "x-forwarded-prefix", "x-kong-request-id":
                // Untrusted client values are replaced (no trusted_ips configured).
                continue
            case "x-forwarded-for":
                forwardedFor = forwardedFor.map { $0 + ", " + value } ?? value
                continue
            case "via":
                clientVia = clientVia.map { $0 + ", " + value } ?? value
                continue
            default:
                out.add(name: name, value: value)
            }
        }
        out.add(name: "Host", value: host)
        out.add(name: "X-Forwarded-For", value: forwardedFor.map { $0 + ", " + clientAddress } ?? clientAddress)
        out.add(name: "X-Forwarded-Proto", value: "http")
        out.add(name: "X-Forwarded-Host", value: forwardedHost)
        out.add(name: "X-Forwarded-Port", value: String(forwardedPort))
        out.add(name: "X-Forwarded-Path", value: forwardedPath)
        if let forwardedPrefix { out.add(name: "X-Forwarded-Prefix", value: forwardedPrefix) }
        out.add(name: "X-Real-IP", value: clientAddress)
        out.add(name: "Via", value: clientVia.map { $0 + ", " + via } ?? via)
        out.add(name: "X-Kong-Request-Id", value: requestID)
        if teTrailers { out.add(name: "TE", value: "trailers") }
        out.add(name: "Connection", value: "keep-alive")
        return out
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
            let lower = name.lowercased()
            if Self.hopByHop.contains(lower) || listed.contains(lower) { continue }
            if lower == "via" {
                upstreamVia = upstreamVia.map { $0 + ", " + value } ?? value
                continue
            }
            if lower == "server" { hasServer = true }
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
