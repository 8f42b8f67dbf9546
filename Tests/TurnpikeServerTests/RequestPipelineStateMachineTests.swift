import Testing

@testable import TurnpikeServer

/// The request pipeline's phases without sockets: what becomes of each piece of the body while a
/// plugin reads it, while an access handler waits, once proxying, once answered.
@Suite struct RequestPipelineStateMachineTests {
    typealias Machine = RequestPipelineStateMachine

    @Test func aBodyReadByAPluginIsHeldUpToTheBufferLimit() {
        var m = Machine(bodyBufferLimit: 10, waitingBufferLimit: 100)
        m.holdBody()
        #expect(m.bodyPart(bytes: 6) == .hold)
        #expect(m.requestEnd() == .runAccessWithBody)
        m.accessStarts(bodyRead: true, ended: true)
        m.proxying()
        #expect(m.bodyRead && m.requestEnded && m.heldBytes == 0)

        // Past the limit: the access phase runs without it and the body streams.
        var large = Machine(bodyBufferLimit: 10, waitingBufferLimit: 100)
        large.holdBody()
        #expect(large.bodyPart(bytes: 6) == .hold)
        #expect(large.bodyPart(bytes: 6) == .holdAndRunAccessUnread)
        large.accessStarts(bodyRead: false, ended: false)
        large.proxying()
        #expect(large.bodyPart(bytes: 6) == .send)
        #expect(large.requestEnd() == .send)
    }

    @Test func whileAnAccessHandlerWaitsTheBodyIsHeldThenTheClientHeldBack() {
        var m = Machine(bodyBufferLimit: 10, waitingBufferLimit: 100)
        m.accessStarts(bodyRead: false, ended: false)
        m.accessWaits()
        #expect(m.bodyPart(bytes: 60) == .hold)
        #expect(m.bodyPart(bytes: 60) == .holdAndPauseReads)
        #expect(m.requestEnd() == .record)
        #expect(m.accessResumes() == true)
        #expect(m.accessResumes() == false)
        m.proxying()
        #expect(m.requestEnded)
    }

    @Test func anAnsweredRequestDropsTheRestAndIgnoresLateReplies() {
        var m = Machine()
        m.accessStarts(bodyRead: false, ended: false)
        m.accessWaits()
        #expect(m.answered() == .accessPending)
        #expect(m.accessResumes() == false)
        #expect(m.bodyPart(bytes: 5) == .drop)
        #expect(m.requestEnd() == .none)
        #expect(m.answered() == .answered)
    }
}
