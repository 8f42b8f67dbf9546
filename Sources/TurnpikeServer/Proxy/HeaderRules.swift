import NIOCore
import NIOHTTP1
import TurnpikePlugins

/// Header rewriting between client and upstream (kong/runloop/handler.lua, kong/templates/nginx_kong.lua). Pure functions, on
/// the hot path: names are compared case-insensitively in place, without lower-cased copies.
enum HeaderRules {
    /// ASCII case-insensitive equality with a lower-case literal: `HeaderName.equal`'s fast path
    /// for names the gateway knows (only one side needs folding).
    @inline(__always)
    static func equals(_ name: String, _ lower: StaticString) -> Bool {
        Self.equals(name.utf8, lower)
    }

    /// The same for bytes (a name in a parsed head).
    @inline(__always)
    static func equals<Bytes: Collection<UInt8>>(_ name: Bytes, _ lower: StaticString) -> Bool {
        let count = lower.utf8CodeUnitCount
        guard name.count == count else { return false }
        return lower.withUTF8Buffer { literal in
            var i = 0
            for c in name {
                let folded = (c >= 0x41 && c <= 0x5A) ? c | 0x20 : c
                if folded != literal[i] { return false }
                i += 1
            }
            return true
        }
    }

    /// How a field is treated on its way through, as kong/runloop/handler.lua (its hop-by-hop
    /// blocks in `access.after` and `header_filter.before`) and nginx's proxy module do it.
    enum Kind {
        /// `Connection`, `Keep-Alive`, `Transfer-Encoding`, `Upgrade`: never relayed in either
        /// direction (the gateway writes its own framing and `Connection`).
        case hopByHop
        /// `Proxy`, `Proxy-Connection`: Kong clears them from requests only.
        case requestHopByHop
        /// `Trailer`: forwarded in requests; kept in a response only when the client's `TE`
        /// asked for trailers.
        case trailer
        /// Replaced by the gateway's own value (no trusted_ips configured).
        case replaced
        case forwardedFor
        case via
        /// Requests: reduced to `TE: trailers` when the client listed `trailers`; responses: relayed.
        case te
        case server
        case other
    }

    static func classify(_ name: String) -> Kind {
        Self.classify(name.utf8)
    }

    static func classify<Bytes: Collection<UInt8>>(_ name: Bytes) -> Kind {
        switch name.count {
        case 2:
            if equals(name, "te") { return .te }
        case 3:
            if equals(name, "via") { return .via }
        case 4:
            if equals(name, "host") { return .replaced }
        case 5:
            if equals(name, "proxy") { return .requestHopByHop }
        case 6:
            if equals(name, "server") { return .server }
        case 7:
            if equals(name, "trailer") { return .trailer }
            if equals(name, "upgrade") { return .hopByHop }
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
                return name.first == UInt8(ascii: "p") || name.first == UInt8(ascii: "P") ? .requestHopByHop : .replaced
            }
        case 17:
            if equals(name, "transfer-encoding") { return .hopByHop }
            if equals(name, "x-forwarded-proto") || equals(name, "x-kong-request-id") { return .replaced }
        case 18:
            // `Proxy-Authenticate` is relayed both ways, as Kong does (nothing clears it).
            if equals(name, "x-forwarded-prefix") { return .replaced }
        default:
            break
        }
        return .other
    }

    /// Names listed in `Connection` headers, lower-cased (`close`, `keep-alive`, `upgrade`
    /// excluded); empty (no allocation) in the common case.
    static func connectionTokens<Values: Sequence<String>>(values: Values) -> [String] {
        var out: [String] = []
        for value in values {
            // The usual values name no header: no split, no allocation.
            if equals(value, "keep-alive") || equals(value, "close") || equals(value, "upgrade") { continue }
            for token in value.split(separator: ",") {
                let t = token.trimmingCharacters(in: " \t").lowercased()
                if t.isEmpty || t == "close" || t == "keep-alive" || t == "upgrade" { continue }
                out.append(t)
            }
        }
        return out
    }

    /// Whether a `TE` value lists `trailers` (Kong's csv reading: comma-separated, trimmed,
    /// case-insensitive).
    static func listsTrailers(_ value: UnsafeRawBufferPointer) -> Bool {
        var found = false
        HeadSyntax.forEachElement(of: value) { element in
            if Self.equals(element, "trailers") { found = true }
        }
        return found
    }

    /// Whether `name` (a field name's bytes) is one of `names`, case-insensitively.
    static func isListed(_ name: UnsafeRawBufferPointer, in names: [String]) -> Bool {
        !names.isEmpty && names.contains { HeaderName.equal($0.utf8, name) }
    }

    /// What the gateway adds to a request it sends upstream (kong/runloop/handler.lua `access.before`).
    struct Forwarding {
        var host: String
        /// The client came over TLS (`X-Forwarded-Proto: https`).
        var tls = false
        var clientAddress: String
        var forwardedHost: String
        var forwardedPort: String
        /// The request's path as it came (a slice of its target: no copy).
        var forwardedPath: Substring
        /// The decoded prefix bytes; percent-encoded as they are written (a `%0D%0A` among them
        /// never reaches the head raw).
        var forwardedPrefix: ArraySlice<UInt8>?
        var requestID: RequestID
        var via: String
        var webSocketUpgrade = false
        /// The body goes up chunked (the client sent it chunked).
        var chunkedBody = false
        /// The body was replaced (a plugin rewrote it): its length replaces the client's framing.
        var contentLength: Int?
    }

    /// Writes the header lines sent upstream: hop-by-hop and `Expect` removed, the plugins'
    /// edits applied, Kong's forwarding headers added. The caller writes the request line first.
    /// Returns where the `Host` value sits in the head (a retry to another target rewrites it).
    @discardableResult
    static func writeUpstreamHeaders(
        into writer: inout HeadWriter,
        client head: RequestHead,
        forwarding f: Forwarding,
        edits: UpstreamEdits?
    ) -> Range<Int> {
        let listed = head.hasConnectionOptions ? Self.connectionTokens(values: head.values("connection")) : []
        let removed = edits?.remove ?? []
        var forwardedFor: String?
        var clientVia: String?
        head.bytes.withUnsafeReadableBytes { raw in
            for (i, field) in head.fields.enumerated() {
                let name = UnsafeRawBufferPointer(rebasing: raw[field.name])
                switch Self.classify(name) {
                case .hopByHop, .requestHopByHop, .replaced, .te:
                    continue
                case .forwardedFor:
                    let value = head.value(i)
                    forwardedFor = forwardedFor.map { $0 + ", " + value } ?? value
                case .via:
                    let value = head.value(i)
                    clientVia = clientVia.map { $0 + ", " + value } ?? value
                case .trailer, .server, .other:
                    if head.hasExpect && Self.equals(name, "expect") { continue }
                    // The length goes up once, as parsed ("5, 5" or a repeated field become one value).
                    if field.name.count == 14 && Self.equals(name, "content-length") { continue }
                    if Self.isListed(name, in: removed) || Self.isListed(name, in: listed) { continue }
                    // The line as the client sent it (validated by the parser).
                    writer.fieldLine(field, in: raw)
                }
            }
        }
        let hostStart = writer.count + 6
        writer.header("Host", f.host)
        // (Meaningless when the writer overflowed: it then runs again with more room.)
        let hostValue = hostStart..<max(hostStart, writer.count - 2)
        writer.header("X-Forwarded-For", forwardedFor.map { $0 + ", " + f.clientAddress } ?? f.clientAddress)
        writer.header("X-Forwarded-Proto", f.tls ? "https" : "http")
        writer.header("X-Forwarded-Host", f.forwardedHost)
        writer.header("X-Forwarded-Port", f.forwardedPort)
        writer.raw("X-Forwarded-Path: ")
        writer.raw(f.forwardedPath)
        writer.raw("\r\n")
        if let prefix = f.forwardedPrefix {
            writer.raw("X-Forwarded-Prefix: ")
            writer.percentEncoded(prefix, keeping: Self.isPathSafe)
            writer.raw("\r\n")
        }
        writer.header("X-Real-IP", f.clientAddress)
        writer.header("Via", clientVia.map { $0 + ", " + f.via } ?? f.via)
        writer.requestIDHeader(f.requestID)
        if let edits {
            for (name, value) in edits.set { writer.header(HeadWriter.sanitized(name), HeadWriter.sanitized(value)) }
        }
        // Kong's `TE $upstream_te`: `trailers` when the client listed it, else no TE at all.
        if head.asksTrailers { writer.header("TE", "trailers") }
        if f.chunkedBody { writer.header("Transfer-Encoding", "chunked") }
        if let length = f.contentLength ?? (f.chunkedBody ? nil : head.contentLength) {
            writer.header("Content-Length", Int64(length))
        }
        if f.webSocketUpgrade {
            // Kong keeps `Upgrade` for WebSocket only.
            writer.header("Connection", "keep-alive, Upgrade")
            writer.header("Upgrade", "websocket")
        } else {
            writer.header("Connection", "keep-alive")
        }
        return hostValue
    }

    /// True for a WebSocket handshake request (`Connection: upgrade` and `Upgrade: websocket`).
    static func isWebSocketUpgrade(_ head: RequestHead) -> Bool {
        head.asksUpgrade && head.values("upgrade").contains { $0.lowercased().contains("websocket") }
    }

    /// Writes the response header lines sent to the client, from a head parsed in place
    /// (`ResponseParser`): hop-by-hop removed (kept lines are copied as they came), Via and Kong's
    /// latency headers added, then the response handlers' edits. The caller writes the status line
    /// first and the framing and `Connection` headers after.
    static func writeClientResponseHeaders(
        into writer: inout HeadWriter,
        upstream head: ResponseHead,
        raw: UnsafeRawBufferPointer,
        via: String,
        serverToken: String,
        upstreamLatencyMs: Int64,
        proxyLatencyMs: Int64,
        requestID: RequestID,
        dates: HTTPDateCache? = nil,
        edits: ResponseHeaderEdits? = nil,
        clientAcceptsTrailers: Bool = false,
        relayLength: Bool = true
    ) {
        let listed = head.hasConnectionOptions ? Self.connectionTokens(values: head.values("connection")) : []
        let removed = edits?.remove ?? []
        var upstreamVia: String?
        var hasServer = false
        var hasDate = false
        for (i, field) in head.fields.enumerated() {
            let name = UnsafeRawBufferPointer(rebasing: raw[field.name])
            switch Self.classify(name) {
            case .hopByHop:
                continue
            case .trailer:
                // Kong removes it when the client did not ask for trailers.
                if !clientAcceptsTrailers { continue }
            case .requestHopByHop, .te:
                break
            case .via:
                let value = head.value(i)
                upstreamVia = upstreamVia.map { $0 + ", " + value } ?? value
                continue
            case .server:
                hasServer = true
            case .replaced, .forwardedFor, .other:
                if field.name.count == 4 && Self.equals(name, "date") { hasDate = true }
                // A length beside Transfer-Encoding does not delimit the body, and one the body
                // filters may change is not known: neither is relayed.
                if (head.hasTransferEncoding || !relayLength) && field.name.count == 14
                    && Self.equals(name, "content-length")
                {
                    continue
                }
            }
            // A plugin never removes a framing header: what frames the body is the gateway's call.
            if Self.isListed(name, in: listed) || (Self.isListed(name, in: removed) && !Self.isFraming(name)) {
                continue
            }
            writer.fieldLine(field, in: raw)
        }
        // nginx dates a response that came without a Date.
        if !hasDate, let dates, !(edits?.removes("Date") ?? false) { writer.header("Date", dates.now) }
        guard let edits else {
            if !hasServer { writer.header("Server", serverToken) }
            writer.header("Via", upstreamVia.map { $0 + ", " + via } ?? via)
            writer.header("X-Kong-Upstream-Latency", upstreamLatencyMs)
            writer.header("X-Kong-Proxy-Latency", proxyLatencyMs)
            writer.requestIDHeader(requestID)
            return
        }
        if !hasServer && !edits.removes("Server") { writer.header("Server", serverToken) }
        if !edits.removes("Via") { writer.header("Via", upstreamVia.map { $0 + ", " + via } ?? via) }
        if !edits.removes("X-Kong-Upstream-Latency") { writer.header("X-Kong-Upstream-Latency", upstreamLatencyMs) }
        if !edits.removes("X-Kong-Proxy-Latency") { writer.header("X-Kong-Proxy-Latency", proxyLatencyMs) }
        if !edits.removes("X-Kong-Request-Id") { writer.requestIDHeader(requestID) }
        Self.writeEdits(edits, into: &writer)
    }

    /// The headers the response handlers set, then those they added; never framing headers
    /// (the gateway frames the body itself; a plugin's `Content-Length` would desync the client).
    static func writeEdits(_ edits: ResponseHeaderEdits, into writer: inout HeadWriter) {
        for (name, value) in edits.set where !Self.isFraming(name) && !Self.equals(name, "connection") {
            writer.header(HeadWriter.sanitized(name), HeadWriter.sanitized(value))
        }
        for (name, value) in edits.add where !Self.isFraming(name) && !Self.equals(name, "connection") {
            writer.header(HeadWriter.sanitized(name), HeadWriter.sanitized(value))
        }
    }

    /// `Content-Length` and `Transfer-Encoding` (a field name's bytes).
    static func isFraming(_ name: UnsafeRawBufferPointer) -> Bool {
        (name.count == 14 && Self.equals(name, "content-length"))
            || (name.count == 17 && Self.equals(name, "transfer-encoding"))
    }

    /// `Content-Length` and `Transfer-Encoding`: only the gateway writes them.
    static func isFraming(_ name: String) -> Bool {
        Self.equals(name, "content-length") || Self.equals(name, "transfer-encoding")
    }

    /// Bytes allowed as they are in an upstream path; everything else is percent-encoded.
    static func isPathSafe(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
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
}
