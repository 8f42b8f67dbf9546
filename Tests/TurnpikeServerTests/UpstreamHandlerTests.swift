import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import TurnpikeServer

/// The upstream connection's handler on an `EmbeddedChannel`: what an exchange hears of each
/// response, in any split, and when a connection must not be reused.
@Suite struct UpstreamHandlerTests {
    /// Records what the handler tells its exchange.
    final class Recorder: UpstreamDelegate {
        var events: [String] = []

        func upstreamResponseHead(_ head: ResponseHead) { self.events.append("head \(head.status)") }
        func upstreamResponseBody(_ buffer: ByteBuffer) { self.events.append("body \(String(buffer: buffer))") }
        func upstreamResponseEnd() { self.events.append("end") }
        func upstreamReadComplete() {}
        func upstreamWritabilityChanged(isWritable: Bool) {}
        func upstreamFailed(_ error: UpstreamError) { self.events.append("failed \(error)") }
        func upstreamTimerFired() -> NIODeadline? { nil }
    }

    static func connected() throws -> (EmbeddedChannel, UpstreamHandler, Recorder) {
        let handler = UpstreamHandler()
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 80)).wait()
        let recorder = Recorder()
        handler.delegate = recorder
        handler.prepareForRequest()
        handler.expectResponse(to: .GET)
        return (channel, handler, recorder)
    }

    @Test(arguments: [1, 3, 7, 1000])
    func aResponseInAnySplit(step: Int) throws {
        let (channel, handler, recorder) = try Self.connected()
        let bytes = Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".utf8)
        var i = 0
        while i < bytes.count {
            try channel.writeInbound(ByteBuffer(bytes: bytes[i..<min(bytes.count, i + step)]))
            i += step
        }
        #expect(recorder.events.first == "head 200" && recorder.events.last == "end")
        let body = recorder.events.filter { $0.hasPrefix("body ") }.map { $0.dropFirst(5) }.joined()
        #expect(body == "hello")
        #expect(handler.lastResponseKeepAlive && handler.isOpen)
    }

    @Test func aBodyEndedByTheCloseEndsWithTheClose() throws {
        let (channel, _, recorder) = try Self.connected()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\npart"))
        #expect(recorder.events == ["head 200", "body part"])
        try channel.close().wait()
        #expect(recorder.events == ["head 200", "body part", "end"])
    }

    @Test func aCloseBeforeTheEndIsAFailure() throws {
        let (channel, handler, recorder) = try Self.connected()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
        try channel.close().wait()
        #expect(recorder.events.last == "failed closedEarly")
        #expect(!handler.isOpen)
    }

    /// Bytes after a complete response, that nobody asked for: the response is delivered, but
    /// the connection is never reused (a request on it would get them as its answer).
    @Test func strayBytesMakeTheConnectionUnusable() throws {
        let (channel, handler, recorder) = try Self.connected()
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n"))
        #expect(recorder.events.prefix(2) == ["head 204", "end"])
        #expect(!handler.lastResponseKeepAlive)
        #expect(!channel.isActive)
    }

    @Test func anInvalidResponseIsAFailure() throws {
        let (channel, _, recorder) = try Self.connected()
        try channel.writeInbound(
            ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
        )
        #expect(recorder.events == ["failed invalidResponse"])
        #expect(!channel.isActive)
    }

    @Test func bytesOnAnIdleConnectionCloseIt() throws {
        let (channel, handler, _) = try Self.connected()
        handler.delegate = nil
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 408 Request Timeout\r\n\r\n"))
        #expect(!channel.isActive)
    }
}
