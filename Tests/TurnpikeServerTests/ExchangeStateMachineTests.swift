import NIOCore
import NIOHTTP1
import Testing

@testable import TurnpikeServer

/// The upstream exchange's decisions without sockets, on a manual clock: Kong's retries, stale
/// pooled connections, timeouts, early responses, upgrades, aborts on either side.
@Suite struct ExchangeStateMachineTests {
    typealias Machine = ExchangeStateMachine

    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func machine(
        retries: Int = 0,
        method: HTTPMethod = .GET,
        readTimeout: TimeAmount = .milliseconds(100),
        webSocket: Bool = false,
        requestEnded: Bool = true
    ) -> Machine {
        Machine(
            policy: Machine.Policy(retries: retries, method: method, readTimeout: readTimeout, webSocket: webSocket),
            start: Self.t0,
            requestEnded: requestEnded
        )
    }

    static let badGateway = Machine.Action.fail(
        .badGateway,
        message: "An invalid response was received from the upstream server"
    )
    static let timingOut = Machine.Action.fail(.gatewayTimeout, message: "The upstream server is timing out")

    @Test func connectFailuresAreRetriedUpToRetries() {
        var m = Self.machine(retries: 2)
        let r0 = m.connectFailed(.connectFailed)
        #expect(r0 == .retry)
        let r1 = m.connectFailed(.connectFailed)
        #expect(r1 == .retry)
        let r2 = m.connectFailed(.connectFailed)
        #expect(r2 == Self.badGateway)
        #expect(m.attempts == 3 && m.isFinished)
        var timeout = Self.machine()
        let r3 = timeout.connectFailed(.connectTimeout)
        #expect(r3 == Self.timingOut)
        var dns = Self.machine(retries: 5)
        let r4 = dns.connectFailed(.nameResolution) == .fail(.serviceUnavailable, message: "name resolution failed")
        #expect(r4)
    }

    /// A POST is sent again only when nothing of it went out (Kong: not after the request was sent).
    @Test func aNonIdempotentRequestIsNotSentTwice() {
        var m = Self.machine(retries: 3, method: .POST)
        let r5 = m.connectFailed(.connectFailed)
        #expect(r5 == .retry)
        _ = m.connected(reused: false, now: Self.t0)
        let r6 = m.upstreamFailed(.closedEarly, receivedResponseBytes: false)
        #expect(r6 == Self.badGateway)
        var get = Self.machine(retries: 3)
        _ = get.connected(reused: false, now: Self.t0)
        let r7 = get.upstreamFailed(.closedEarly, receivedResponseBytes: false)
        #expect(r7 == .retry)
        #expect(get.state == .connecting)
    }

    @Test func aBodyTooLargeToReplayIsNotRetried() {
        var m = Self.machine(retries: 3, requestEnded: false)
        m.replayOverflowed()
        let r8 = m.connectFailed(.connectFailed)
        #expect(r8 == Self.badGateway)
    }

    /// A pooled connection the upstream had closed is replaced invisibly, even with `retries: 0`;
    /// not after a read timeout (the upstream did get the request), not twice for free.
    @Test func aStalePooledConnectionIsReplacedInvisibly() {
        var m = Self.machine(retries: 0)
        _ = m.connected(reused: true, now: Self.t0)
        let r9 = m.upstreamFailed(.closedEarly, receivedResponseBytes: false)
        #expect(r9 == .reconnect)
        #expect(m.attempts == 1)
        _ = m.connected(reused: false, now: Self.t0)
        let r10 = m.upstreamFailed(.closedEarly, receivedResponseBytes: false)
        #expect(r10 == Self.badGateway)

        var slow = Self.machine(retries: 0)
        _ = slow.connected(reused: true, now: Self.t0)
        let r11 = slow.upstreamFailed(.readTimeout, receivedResponseBytes: false)
        #expect(r11 == Self.timingOut)

        var answered = Self.machine(retries: 0)
        _ = answered.connected(reused: true, now: Self.t0)
        let r12 = answered.upstreamFailed(.closedEarly, receivedResponseBytes: true)
        #expect(r12 == Self.badGateway)
    }

    /// `read_timeout` is the longest silence between two reads, from the end of the request.
    @Test func readTimeoutCountsSilenceOnAManualClock() {
        var m = Self.machine(readTimeout: .milliseconds(100), requestEnded: false)
        let ms = { (n: Int64) in Self.t0 + .milliseconds(n) }
        let r13 = m.connected(reused: false, now: ms(0))
        #expect(!r13)
        // The request is still being sent: no read timer yet.
        #expect(m.timerFired(now: ms(500)) == .idle)
        let r14 = m.requestEnded(now: ms(600))
        #expect(r14)
        #expect(m.timerFired(now: ms(650)) == .next(ms(700)))
        m.upstreamRead(now: ms(680))
        #expect(m.timerFired(now: ms(750)) == .next(ms(780)))
        #expect(m.timerFired(now: ms(780)) == .timedOut)
        let r15 = m.upstreamFailed(.readTimeout, receivedResponseBytes: false)
        #expect(r15 == Self.timingOut)
    }

    @Test func theConnectionIsReusedOnlyAfterACompleteExchange() {
        var m = Self.machine()
        _ = m.connected(reused: false, now: Self.t0)
        let r16 = m.responseHead(status: 200, now: Self.t0)
        #expect(r16 == .forwardHead)
        let r17 = m.responseEnded(keepAlive: true)
        #expect(r17 == .releaseConnection)
        // An early response, before the request body ended: the connection is not reused.
        var early = Self.machine(requestEnded: false)
        _ = early.connected(reused: false, now: Self.t0)
        let r18 = early.responseHead(status: 413, now: Self.t0)
        #expect(r18 == .forwardHead)
        let r19 = early.responseEnded(keepAlive: true)
        #expect(r19 == .closeConnection)
        var closing = Self.machine()
        _ = closing.connected(reused: false, now: Self.t0)
        _ = closing.responseHead(status: 200, now: Self.t0)
        let r20 = closing.responseEnded(keepAlive: false)
        #expect(r20 == .closeConnection)
    }

    @Test func anUpstreamResetMidBodyCutsTheClient() {
        var m = Self.machine(retries: 3)
        _ = m.connected(reused: false, now: Self.t0)
        _ = m.responseHead(status: 200, now: Self.t0)
        let r21 = m.upstreamFailed(.closedEarly, receivedResponseBytes: true)
        #expect(r21 == .abortClient)
        #expect(m.isFinished)
        let r22 = m.responseEnded(keepAlive: true)
        #expect(r22 == .none)
    }

    @Test func upgradesOnlyWhenAskedFor() {
        var asked = Self.machine(webSocket: true)
        _ = asked.connected(reused: false, now: Self.t0)
        let r23 = asked.responseHead(status: 101, now: Self.t0)
        #expect(r23 == .forwardHead)
        #expect(asked.state == .upgrading && !asked.readTimerActive)
        let r24 = asked.responseEnded(keepAlive: true)
        #expect(r24 == .tunnel)
        var unasked = Self.machine(retries: 0)
        _ = unasked.connected(reused: false, now: Self.t0)
        let r25 = unasked.responseHead(status: 101, now: Self.t0)
        #expect(r25 == Self.badGateway)
    }

    @Test func aClientThatLeavesEndsTheExchange() {
        var m = Self.machine()
        _ = m.connected(reused: false, now: Self.t0)
        let r26 = m.clientClosed()
        #expect(r26)
        let r27 = m.clientClosed()
        #expect(!r27)
        let r28 = m.responseHead(status: 200, now: Self.t0)
        #expect(r28 == .none)
        let r29 = m.upstreamFailed(.closedEarly, receivedResponseBytes: false)
        #expect(r29 == .none)
        #expect(m.timerFired(now: Self.t0 + .seconds(10)) == .idle)
    }
}
