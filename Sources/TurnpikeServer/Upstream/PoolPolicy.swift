import NIOCore

/// The upstream pool's bookkeeping decisions, as values: which idle connection a request takes,
/// whether a connection that served a request goes back to the pool, and when an idle one is
/// closed. Pure (the clock passed in); `UpstreamPool` carries them out.
struct PoolPolicy: Equatable {
    /// Kong's defaults: `upstream_keepalive_pool_size` 512, `upstream_keepalive_idle_timeout`
    /// 60 s, `upstream_keepalive_max_requests` 10,000.
    var maxIdlePerTarget = 512
    var idleTimeout: TimeAmount = .seconds(60)
    var maxRequestsPerConnection = 10_000

    /// Whether a connection whose exchange ended cleanly goes back to the pool (else it closes):
    /// still open, not worn out, and room in its target's idle list.
    func keeps(isOpen: Bool, requestsServed: Int, idleCount: Int) -> Bool {
        isOpen && requestsServed < self.maxRequestsPerConnection && idleCount < self.maxIdlePerTarget
    }

    enum IdleCheck: Equatable {
        /// Idle for `idleTimeout`: close it.
        case close
        /// Look again then.
        case next(NIODeadline)
        /// Not idle (an exchange uses it).
        case inUse
    }

    /// A connection's timer fired while no exchange uses it.
    func idleCheck(idleSince: NIODeadline?, now: NIODeadline) -> IdleCheck {
        guard let since = idleSince else { return .inUse }
        let deadline = since + self.idleTimeout
        return now < deadline ? .next(deadline) : .close
    }
}

/// One target's idle connections: last in, first out (the warmest connection first), skipping
/// any that closed while idle.
struct IdleStack<Connection> {
    private(set) var items: [Connection] = []

    var count: Int { self.items.count }

    mutating func push(_ connection: Connection) {
        self.items.append(connection)
    }

    /// The most recently returned connection that is still open; closed ones met on the way are
    /// dropped.
    mutating func pop(isOpen: (Connection) -> Bool) -> Connection? {
        while let connection = self.items.popLast() {
            if isOpen(connection) { return connection }
        }
        return nil
    }

    mutating func remove(where matches: (Connection) -> Bool) {
        self.items.removeAll(where: matches)
    }

    mutating func removeAll() -> [Connection] {
        defer { self.items = [] }
        return self.items
    }
}
