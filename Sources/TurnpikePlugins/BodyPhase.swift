public import NIOCore

/// The body phase (Kong's `body_filter`). At each response head a handler decides whether it
/// changes this response's body: it returns a filter (per-response state, its own object), or nil
/// to leave the body alone. Only a response with at least one filter loses its length (it goes
/// out chunked, or ended by the close for HTTP/1.0); the others keep their framing.
public protocol BodyHandler: Sendable {
    var name: String { get }
    /// Called once per response, with its head as the response phase left it (the content type
    /// is `response.header("content-type")`). Runs on the event loop.
    func bodyFilter(for response: ResponseContext) -> (any BodyFilter)?
}

/// One response's body filter. Loop-confined: made and called on the request's event loop.
public protocol BodyFilter: AnyObject {
    /// Each piece of the body in order, then a last call with `last` set (and possibly no bytes).
    /// Returns what goes to the client instead (the same buffer, another, or an empty one):
    /// buffers pass by reference, nothing is copied unless the filter does.
    func filter(_ chunk: ByteBuffer, last: Bool) -> ByteBuffer
    /// True for a filter that only reads the body and returns every chunk as it came (proxy-cache
    /// keeping a copy): the response then keeps its length.
    var observesOnly: Bool { get }
}

extension BodyFilter {
    public var observesOnly: Bool { false }
}
