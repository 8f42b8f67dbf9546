/// One entry of Kong's `proxy_listen` (kong/conf_loader/listeners.lua): `ADDRESS:PORT [flag...]`,
/// entries separated by commas, or `off` for none.
///
/// Flags Turnpike honours: `ssl` (a TLS listener), `reuseport` (SO_REUSEPORT), `backlog=N`, `bind`
/// (every entry is bound on its own anyway). `http2` is accepted and noted (`http2Requested`: the
/// gateway warns that HTTP/2 is not served yet; ALPN offers http/1.1 only). Kong's other flags
/// (`proxy_protocol`, `deferred`, `ipv6only=`, `so_keepalive=`) are refused, as is anything Kong
/// would not parse: a flag silently ignored would change what a Kong user's file means.
public struct ProxyListener: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var ssl = false
    public var reusePort = false
    public var backlog: Int?
    public var http2Requested = false

    public init(host: String, port: Int, ssl: Bool = false) {
        self.host = host
        self.port = port
        self.ssl = ssl
    }

    /// Kong's spelling of the entry (`0.0.0.0:8443 ssl`), for logs.
    public var description: String {
        var text = self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
        if self.ssl { text += " ssl" }
        if self.http2Requested { text += " http2" }
        if self.reusePort { text += " reuseport" }
        if let backlog = self.backlog { text += " backlog=\(backlog)" }
        return text
    }

    /// Kong's default `proxy_listen`.
    public static let kongDefault = "0.0.0.0:8000, 0.0.0.0:8443 ssl"

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Kong's usage line for a `proxy_listen` it cannot parse.
    static let usage =
        "must be of form: [off] | <ip>:<port> [ssl] [http2] [proxy_protocol] [deferred] [bind] "
        + "[reuseport] [backlog=%d+] [ipv6only=on] [ipv6only=off] [so_keepalive=on] [so_keepalive=off] "
        + "[so_keepalive=%w*:%w*:%d*], [... next entry ...]"

    /// Parses a whole `proxy_listen` value; `setting` names it in errors (`proxy_listen`).
    public static func parseList(_ text: String, setting: String = "proxy_listen") throws(Invalid) -> [ProxyListener] {
        let entries = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        }
        if entries.first?.first == "off" && entries.first?.count == 1 { return [] }
        var listeners: [ProxyListener] = []
        for words in entries {
            guard let address = words.first else {
                throw Invalid(description: "\(setting) \(Self.usage)")
            }
            guard let (host, port) = Self.parseAddress(address) else {
                throw Invalid(description: "\(setting) \(Self.usage)")
            }
            var listener = ProxyListener(host: host, port: port)
            for flag in words.dropFirst() {
                switch flag {
                case "ssl": listener.ssl = true
                case "http2": listener.http2Requested = true
                case "reuseport": listener.reusePort = true
                case "bind": break
                case "proxy_protocol", "deferred", "ipv6only=on", "ipv6only=off", "so_keepalive=on",
                    "so_keepalive=off":
                    throw Invalid(description: "\(setting): flag '\(flag)' is not supported by Turnpike")
                default:
                    if flag.hasPrefix("backlog="), let n = Int(flag.dropFirst(8)), n > 0 {
                        listener.backlog = n
                    } else if flag.hasPrefix("so_keepalive=") {
                        throw Invalid(description: "\(setting): flag '\(flag)' is not supported by Turnpike")
                    } else {
                        throw Invalid(description: "\(setting) \(Self.usage)")
                    }
                }
            }
            listeners.append(listener)
        }
        return listeners
    }

    /// `HOST:PORT` or `[IPv6]:PORT`, port 0–65535 (0: the kernel picks one).
    public static func parseAddress(_ address: String) -> (host: String, port: Int)? {
        if address.hasPrefix("["), let close = address.firstIndex(of: "]") {
            let host = String(address[address.index(after: address.startIndex)..<close])
            let rest = address[address.index(after: close)...]
            guard !host.isEmpty, rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (0...65535).contains(port)
            else { return nil }
            return (host, port)
        }
        guard let colon = address.lastIndex(of: ":"), colon != address.startIndex,
            let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port)
        else { return nil }
        let host = String(address[..<colon])
        // An unbracketed IPv6 address is ambiguous (nginx refuses it too).
        guard !host.contains(":") else { return nil }
        return (host, port)
    }
}
