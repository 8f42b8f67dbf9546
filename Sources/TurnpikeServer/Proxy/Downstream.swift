import NIOCore
import TurnpikePlugins

/// The client side of one request, as the request pipeline sees it. An HTTP/1 connection
/// implements it (`HTTP1ServerHandler`); an HTTP/2 stream can implement it too, since the pipeline
/// never writes a protocol's bytes: it sends response heads as values and bodies as buffers, and
/// the downstream picks the framing.
///
/// Loop-confined: every call happens on the connection's event loop.
protocol Downstream: AnyObject {
    var allocator: ByteBufferAllocator { get }
    /// Whether the client takes more now (the upstream's reads pause while it does not).
    var isWritable: Bool { get }
    /// `100 Continue`, for a client that waits for it before sending its body.
    func sendContinue()
    /// The response head. The downstream frames the body: by length when one is given, else
    /// as its protocol allows (chunked for HTTP/1.1, ended by the close for HTTP/1.0).
    func sendHead(_ head: ResponseHeadOut)
    func sendBody(_ buffer: ByteBuffer)
    /// Sends what is buffered.
    func flush()
    /// The response is complete: the connection may take its next request (or closes).
    func sendEnd()
    /// The response cannot be completed (the upstream failed mid-body): the client must see a
    /// cut connection, never a response that looks complete.
    func abort()
    /// Stops and resumes reading the request (backpressure from the upstream).
    func pauseReads()
    func resumeReads()
    /// After the upstream's `101`: the two connections relay raw bytes from now on.
    func becomeTunnel(upstream: any Channel)
    /// Keep a copy of each response head written (for the access log's response headers).
    var recordsResponseHead: Bool { get set }
    /// Bytes of the current response written so far (head, body and framing).
    var responseBytes: Int { get }
    /// The header lines of the last response head written (when `recordsResponseHead`).
    func responseHeaderLines() -> [(name: String, value: String)]
}

/// A response head as a value: what the client gets, proxied or made by the gateway.
struct ResponseHeadOut {
    enum Kind {
        /// The upstream's head: its kept header lines are copied as they came.
        case proxied(ResponseHead, upstreamLatencyMs: Int64, proxyLatencyMs: Int64, clientAcceptsTrailers: Bool)
        /// Made by the gateway (an error, a plugin's answer, a redirect): its own header lines.
        case local(headers: [(name: String, value: String)], latencyMs: Int64)
    }

    var status: Int
    /// The upstream's reason phrase, used when nginx has none for the code.
    var upstreamReason: String?
    var kind: Kind
    var requestID: RequestID
    /// The response phase's header edits.
    var edits: ResponseHeaderEdits?
    /// The body's length when known (nil: not known, the downstream frames it).
    var contentLength: Int?
    /// The gateway closes the connection after this response (a request it could not read).
    var close = false
}
