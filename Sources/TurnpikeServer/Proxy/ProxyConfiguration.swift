public import NIOCore

/// Limits and timeouts of the proxy listener. Defaults follow Kong/nginx where they have one.
public struct ProxyConfiguration: Sendable {
    /// Longest request target accepted; longer gets 414 (nginx: 8 KiB).
    public var maxURIBytes = 8 * 1024
    /// Longest header field line (CRLF included); longer gets 400 `Request header or cookie too
    /// large` (nginx's `large_client_header_buffers 4 8k`: one line must fit one 8 KiB buffer).
    public var maxHeaderLineBytes = 8 * 1024
    /// Largest header section (all field lines); larger gets the same 400 (all four buffers).
    public var maxHeaderBytes = 32 * 1024
    /// Header fields the router and plugins read (Kong's `lua_max_req_headers`); a request with
    /// more is still proxied whole.
    public var maxHeaderCount = 100
    /// Time allowed to read a request head, and to keep an idle keep-alive connection.
    public var keepAliveTimeout: TimeAmount = .seconds(60)
    /// Request bodies up to this size are kept so a failed attempt can be sent again.
    public var replayBufferBytes = 64 * 1024
    /// The product token in `Server` and `Via` (`turnpike/<version>`).
    public var serverToken = "turnpike/0.1.0"
    /// `--access-log json`: one Kong serializer entry per request, written off the event loops.
    public var accessLog: LineWriter?

    public init() {}
}
