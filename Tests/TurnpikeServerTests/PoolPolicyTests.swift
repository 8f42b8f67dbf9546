import NIOCore
import Testing

@testable import TurnpikeServer

/// The upstream pool's bookkeeping without sockets: Kong's keep-alive limits, the idle timeout on
/// a manual clock, last-in-first-out reuse that skips closed connections.
@Suite struct PoolPolicyTests {
    static let t0 = NIODeadline.uptimeNanoseconds(5_000_000_000)

    @Test func kongsKeepAliveLimits() {
        let policy = PoolPolicy()
        #expect(policy.keeps(isOpen: true, requestsServed: 1, idleCount: 0))
        #expect(!policy.keeps(isOpen: false, requestsServed: 1, idleCount: 0))
        // upstream_keepalive_max_requests: the 10,000th request is the connection's last.
        #expect(policy.keeps(isOpen: true, requestsServed: 9_999, idleCount: 0))
        #expect(!policy.keeps(isOpen: true, requestsServed: 10_000, idleCount: 0))
        // upstream_keepalive_pool_size: at most 512 idle per target.
        #expect(policy.keeps(isOpen: true, requestsServed: 1, idleCount: 511))
        #expect(!policy.keeps(isOpen: true, requestsServed: 1, idleCount: 512))
    }

    @Test func idleConnectionsCloseAfterTheIdleTimeout() {
        let policy = PoolPolicy(idleTimeout: .seconds(60))
        #expect(policy.idleCheck(idleSince: nil, now: Self.t0) == .inUse)
        #expect(policy.idleCheck(idleSince: Self.t0, now: Self.t0 + .seconds(10)) == .next(Self.t0 + .seconds(60)))
        #expect(policy.idleCheck(idleSince: Self.t0, now: Self.t0 + .seconds(60)) == .close)
    }

    @Test func theWarmestOpenConnectionIsReusedFirst() {
        var stack = IdleStack<Int>()
        for id in 1...4 { stack.push(id) }
        // 4 closed while idle: skipped and dropped; 3 is the warmest open one.
        #expect(stack.pop { $0 != 4 } == 3)
        #expect(stack.items == [1, 2])
        stack.remove { $0 == 1 }
        #expect(stack.items == [2])
        #expect(stack.removeAll() == [2] && stack.count == 0)
        #expect(stack.pop { _ in true } == nil)
    }
}
