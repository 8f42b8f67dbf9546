/// An access phase waiting for I/O (a Redis reply, a lookup in a store). The plugin returns
/// `.pending(p)`, starts its I/O, and when the I/O completes calls `resume` with the rest of its
/// access phase; the pipeline runs that on the request's context and goes on with the chain. When
/// `timeout` passes first, `onTimeout` runs instead (Kong's plugins decide there: rate-limiting's
/// `fault_tolerant` lets the request through), and a late `resume` is ignored. One
/// `PendingAccess` belongs to one request: a plugin that merges lookups makes one per request.
///
/// This is the one reviewed `@unchecked Sendable` type of TurnpikePlugins. Safety: a
/// `PendingAccess` is made, resumed, timed out and waited on only on the event loop of the request
/// it belongs to (plugins' stores deliver their replies on the loop that asked, and the pipeline
/// runs on that loop), so its mutable state is never touched from two threads. It is `Sendable`
/// only because `AccessOutcome`, which carries it, crosses no thread but must be `Sendable` to sit
/// in the plugin protocols.
public final class PendingAccess: @unchecked Sendable {
    /// The rest of a plugin's access phase, run on the request's context.
    public typealias Continuation = (inout AccessContext) -> AccessOutcome

    /// How long the request may wait for `resume`.
    public let timeout: Duration
    /// What runs when `timeout` passes first.
    public let onTimeout: Continuation
    private var continuation: Continuation?
    private var waiter: (() -> Void)?
    private var settled = false

    /// `onTimeout` runs when `timeout` passes before `resume`.
    public init(timeout: Duration, onTimeout: @escaping Continuation) {
        self.timeout = timeout
        self.onTimeout = onTimeout
    }

    /// The I/O completed: `continuation` finishes the plugin's access phase. Call on the request's
    /// event loop; once (later calls, and calls after the timeout, are ignored).
    public func resume(_ continuation: @escaping Continuation) {
        guard !self.settled else { return }
        self.settled = true
        self.continuation = continuation
        self.wake()
    }

    /// The pipeline's side: `body` runs once the access phase may go on (at once if it may now).
    /// One waiter: a second call replaces the first (whose request then ends by its timeout).
    public func whenSettled(_ body: @escaping () -> Void) {
        self.waiter = body
        if self.settled { self.wake() }
    }

    /// The pipeline's side: the timeout passed. The plugin's `onTimeout` becomes the continuation.
    public func expire() {
        guard !self.settled else { return }
        self.settled = true
        self.continuation = self.onTimeout
        self.wake()
    }

    /// The pipeline's side: the rest of the access phase (once settled).
    public func takeContinuation() -> Continuation? {
        defer { self.continuation = nil }
        return self.continuation
    }

    private func wake() {
        guard let waiter = self.waiter else { return }
        self.waiter = nil
        waiter()
    }
}
