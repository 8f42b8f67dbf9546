public import NIOCore

/// Limits and timeouts of the proxy listener. Defaults follow Kong/nginx where they have one.
public struct ProxyConfiguration: Sendable {
    /// Longest request target accepted; longer gets 414 (nginx: 8 KiB).
    public var maxURIBytes = 8 * 1024
    /// Largest header section (names and values); larger gets 431.
    public var maxHeaderBytes = 32 * 1024
    /// Most header fields; more gets 431.
    public var maxHeaderCount = 100
    /// Time allowed to read a request head, and to keep an idle keep-alive connection.
    public var keepAliveTimeout: TimeAmount = .seconds(60)
    /// Request bodies up to this size are kept so a failed attempt can be sent again.
    public var replayBufferBytes = 64 * 1024
    /// The product token in `Server` and `Via` (`turnpike/<version>`).
    public var serverToken = "turnpike/0.1.0"

    public init() {}
}
