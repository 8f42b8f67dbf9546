import NIOCore

/// Backpressure by holding `read()` back: a handler that must stop its channel from reading (the
/// other side is slow) records the read request instead of passing it on, and issues it when
/// reading may resume. Shared by the client, upstream and tunnel handlers.
struct ReadGate {
    private(set) var isPaused = false
    private var pendingRead = false

    /// The handler's `read(context:)`: passes the read on unless paused.
    mutating func read(context: ChannelHandlerContext) {
        if self.isPaused {
            self.pendingRead = true
        } else {
            context.read()
        }
    }

    mutating func pause() {
        self.isPaused = true
    }

    /// Issues the read held back while paused, if any.
    mutating func resume(context: ChannelHandlerContext?) {
        guard self.isPaused else { return }
        self.isPaused = false
        if self.pendingRead, let context {
            self.pendingRead = false
            context.read()
        }
    }
}
