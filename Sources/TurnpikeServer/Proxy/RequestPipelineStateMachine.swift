/// The request pipeline's phases as a value: routing and access, holding the body for a plugin
/// that reads it, waiting for an access handler's I/O, proxying, answered; and what becomes of
/// each piece of the request body in each. Pure: `RequestPipeline` keeps the exchange, the
/// waiting handler and the held buffers, and carries out the actions.
struct RequestPipelineStateMachine {
    enum Phase: Equatable {
        /// Checking, routing, running the access chain (within one call).
        case starting
        /// A plugin reads the body: it is held until complete (or too large), then access runs.
        case holdingBody
        /// An access handler waits for I/O; the body is held meanwhile.
        case accessPending
        /// Handed to the upstream.
        case proxying
        /// The gateway answered (or is answering), or the client left: nothing more goes up.
        case answered
    }

    /// The largest body a plugin reads (Kong's `client_body_buffer_size`, 8 KiB).
    let bodyBufferLimit: Int
    /// How much is held while an access handler waits before the client is held back.
    let waitingBufferLimit: Int

    private(set) var phase = Phase.starting
    /// Bytes held for the access phase (or while it waits).
    private(set) var heldBytes = 0
    /// The request's last byte arrived.
    private(set) var requestEnded = false
    /// The access phase read the whole body (a 100 Continue went out for it already).
    private(set) var bodyRead = false

    init(bodyBufferLimit: Int = 8 * 1024, waitingBufferLimit: Int = 256 * 1024) {
        self.bodyBufferLimit = bodyBufferLimit
        self.waitingBufferLimit = waitingBufferLimit
    }

    enum BodyAction: Equatable {
        /// To the exchange, as it comes.
        case send
        /// Kept for later.
        case hold
        /// Kept, and the client held back (too much is waiting).
        case holdAndPauseReads
        /// Kept, and too large for a plugin to read: the access phase runs without it now.
        case holdAndRunAccessUnread
        /// Dropped (the request is answered).
        case drop
    }

    enum EndAction: Equatable {
        /// Tell the exchange.
        case send
        /// The held body is complete: the access phase runs with it.
        case runAccessWithBody
        /// Noted for when the request goes upstream.
        case record
        case none
    }

    /// A plugin reads the body: hold it before running the access phase.
    mutating func holdBody() {
        precondition(self.phase == .starting, "holding a body while \(self.phase)")
        self.phase = .holdingBody
    }

    mutating func bodyPart(bytes: Int) -> BodyAction {
        switch self.phase {
        case .proxying:
            return .send
        case .holdingBody:
            self.heldBytes += bytes
            return self.heldBytes > self.bodyBufferLimit ? .holdAndRunAccessUnread : .hold
        case .accessPending:
            self.heldBytes += bytes
            return self.heldBytes > self.waitingBufferLimit ? .holdAndPauseReads : .hold
        case .starting, .answered:
            return .drop
        }
    }

    mutating func requestEnd() -> EndAction {
        switch self.phase {
        case .proxying:
            self.requestEnded = true
            return .send
        case .holdingBody:
            self.requestEnded = true
            return .runAccessWithBody
        case .accessPending:
            self.requestEnded = true
            return .record
        case .starting, .answered:
            return .none
        }
    }

    /// The access phase starts (`bodyRead`: with the whole body; `ended`: the request ended).
    mutating func accessStarts(bodyRead: Bool, ended: Bool) {
        precondition(self.phase == .starting || self.phase == .holdingBody, "access while \(self.phase)")
        self.phase = .starting
        self.bodyRead = bodyRead
        if ended { self.requestEnded = true }
    }

    /// An access handler waits for I/O.
    mutating func accessWaits() {
        precondition(self.phase == .starting, "waiting while \(self.phase)")
        self.phase = .accessPending
    }

    /// The waiting handler may go on; false when the request is no longer waiting (answered,
    /// or the client left).
    mutating func accessResumes() -> Bool {
        guard self.phase == .accessPending else { return false }
        self.phase = .starting
        return true
    }

    /// The request goes upstream with what was held (the held count starts again).
    mutating func proxying() {
        precondition(self.phase == .starting, "proxying while \(self.phase)")
        self.phase = .proxying
        self.heldBytes = 0
    }

    /// Answered, or the client left: returns the phase it was in (what was in flight).
    mutating func answered() -> Phase {
        let before = self.phase
        self.phase = .answered
        return before
    }
}
