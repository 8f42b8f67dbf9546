import Testing

@testable import TurnpikeServer

/// The HTTP/1 connection's states, without sockets: keep-alive, a response before the request
/// ended, parse errors at each stage, quiescing, and what the idle timeout covers.
@Suite struct HTTP1ConnectionStateMachineTests {
    typealias Machine = HTTP1ConnectionStateMachine

    @Test func keepAliveRequestThenTheNext() {
        var m = Machine()
        #expect(m.activity == .waiting)
        m.bytesArrived()
        #expect(m.state == .readingHead && m.activity == .reading)
        m.headReceived()
        #expect(m.activity == .writing)
        #expect(m.bodyReceived() == .forward)
        #expect(m.requestEnded() == .forward)
        #expect(m.responseEnded(close: false) == .takeNextRequest)
        #expect(m.state == .idle)
    }

    @Test func anEarlyResponseDropsTheRestOfTheBody() {
        var m = Machine()
        m.headReceived()
        #expect(m.responseEnded(close: false) == .none)
        #expect(m.state == .active(requestEnded: false, responseEnded: true))
        #expect(m.bodyReceived() == .drop)
        #expect(m.requestEnded() == .takeNextRequest)
        #expect(m.isIdle)
    }

    @Test func aResponseThatClosesClosesAtOnce() {
        var m = Machine()
        m.headReceived()
        #expect(m.responseEnded(close: true) == .close)
        #expect(m.isClosed)
        #expect(m.bodyReceived() == .drop)
        #expect(m.requestEnded() == .none)
    }

    @Test(arguments: [
        // (reached state, response started, expected action)
        ("idle", false, Machine.Action.answerErrorAndClose),
        ("head", false, .answerErrorAndClose),
        ("body", false, .answerErrorAndClose),
        ("body", true, .abortRequestAndClose),
        ("answered", true, .close),
    ])
    func parseErrorsAreAnsweredOnce(stage: String, responseStarted: Bool, expected: Machine.Action) {
        var m = Machine()
        switch stage {
        case "head": m.bytesArrived()
        case "body": m.headReceived()
        case "answered":
            m.headReceived()
            _ = m.responseEnded(close: false)
        default: break
        }
        #expect(m.parseFailed(responseStarted: responseStarted) == expected)
        #expect(m.isClosed)
    }

    @Test func quiescingClosesWhenIdle() {
        var idle = Machine()
        #expect(idle.quiesce() == .close)
        var busy = Machine()
        busy.headReceived()
        #expect(busy.quiesce() == .none)
        #expect(busy.requestEnded() == .forward)
        #expect(busy.responseEnded(close: false) == .close)
        #expect(busy.isClosed)
    }

    @Test func aCloseAbortsOnlyARequestStillBeingAnswered() {
        var busy = Machine()
        busy.headReceived()
        #expect(busy.closed() == .abortRequestAndClose)
        #expect(busy.closed() == .none)
        var answered = Machine()
        answered.headReceived()
        _ = answered.responseEnded(close: false)
        #expect(answered.closed() == .close)
    }

    /// nginx's client_header/client_body timeouts: the gateway closes a connection that waits for
    /// its client, never one that waits for an upstream (or that the gateway holds back).
    @Test func theIdleTimeoutCoversWaitingForTheClient() {
        var m = Machine()
        #expect(m.waitsForClient(readsPaused: false))
        m.bytesArrived()
        #expect(m.waitsForClient(readsPaused: false))
        m.headReceived()
        #expect(m.waitsForClient(readsPaused: false))
        #expect(!m.waitsForClient(readsPaused: true))
        _ = m.requestEnded()
        #expect(!m.waitsForClient(readsPaused: false))
        var early = Machine()
        early.headReceived()
        _ = early.responseEnded(close: false)
        #expect(early.waitsForClient(readsPaused: true))
    }
}
