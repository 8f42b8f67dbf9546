public import NIOCore

/// nginx's connection counters (`stub_status`) for the proxy listeners, which Kong's
/// `GET /status` reports as `server` (kong/api/routes/health.lua, `kong.nginx.get_statistics`).
///
/// Counting costs the hot path a few plain integer additions: each event loop has its own
/// counters, touched only on that loop, and a read sums them by visiting every loop.
public final class ProxyStatistics: Sendable {
    /// One loop's counters. Loop-confined: no lock, no atomic.
    final class Counters {
        var accepted = 0
        var active = 0
        var reading = 0
        var writing = 0
        var waiting = 0
        var requests = 0
    }

    /// What a connection is doing, for the reading / writing / waiting split.
    enum Activity {
        /// Idle between requests (keep-alive), or connected with nothing sent yet.
        case waiting
        /// A request head is arriving.
        case reading
        /// A request is being answered (from its head to the end of its response).
        case writing
    }

    /// The sums over every loop, as Kong names them.
    public struct Totals: Sendable, Equatable {
        public var accepted = 0
        public var handled = 0
        public var active = 0
        public var reading = 0
        public var writing = 0
        public var waiting = 0
        public var requests = 0
    }

    private let loops: [NIOLoopBound<Counters>]

    /// Counters for every loop of `group`, made on their loops.
    public init(group: any EventLoopGroup) async throws {
        var loops: [NIOLoopBound<Counters>] = []
        for loop in group.makeIterator() {
            loops.append(try await loop.submit { NIOLoopBound(Counters(), eventLoop: loop) }.get())
        }
        self.loops = loops
    }

    /// The counters of `loop` (call on that loop); nil for a loop of another group.
    func counters(for loop: any EventLoop) -> Counters? {
        self.loops.first { $0.eventLoop === loop }?.value
    }

    /// Sums every loop's counters (visits each loop; never call from an event loop).
    public func totals() async -> Totals {
        var totals = Totals()
        for bound in self.loops {
            guard
                let part = try? await bound.eventLoop.submit({ () -> Totals in
                    let c = bound.value
                    return Totals(
                        accepted: c.accepted,
                        handled: c.accepted,
                        active: c.active,
                        reading: c.reading,
                        writing: c.writing,
                        waiting: c.waiting,
                        requests: c.requests
                    )
                }).get()
            else { continue }
            totals.accepted += part.accepted
            totals.handled += part.handled
            totals.active += part.active
            totals.reading += part.reading
            totals.writing += part.writing
            totals.waiting += part.waiting
            totals.requests += part.requests
        }
        return totals
    }
}

extension ProxyStatistics.Counters {
    func opened() {
        self.accepted += 1
        self.active += 1
        self.waiting += 1
    }

    func moved(from old: ProxyStatistics.Activity, to new: ProxyStatistics.Activity) {
        guard old != new else { return }
        self.add(-1, to: old)
        self.add(1, to: new)
    }

    func closed(in activity: ProxyStatistics.Activity) {
        self.active -= 1
        self.add(-1, to: activity)
    }

    private func add(_ n: Int, to activity: ProxyStatistics.Activity) {
        switch activity {
        case .waiting: self.waiting += n
        case .reading: self.reading += n
        case .writing: self.writing += n
        }
    }
}
