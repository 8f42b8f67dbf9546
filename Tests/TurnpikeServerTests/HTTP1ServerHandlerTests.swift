import Logging
import NIOCore
import NIOEmbedded
import Testing
import TurnpikeEngine

@testable import TurnpikeServer

/// The HTTP/1 connection handler and the request pipeline on an `EmbeddedChannel`: no sockets,
/// every byte in and out seen. Only answers the gateway makes itself (no upstream here).
@Suite struct HTTP1ServerHandlerTests {
    static let config = """
        _format_version: "3.0"
        services:
          - name: guarded
            url: http://127.0.0.1:1
            routes:
              - name: guarded
                paths: [/guarded]
                plugins:
                  - name: key-auth
              - name: secure
                paths: [/secure]
                protocols: [https]
        routes:
          - name: orphan
            paths: [/orphan]
        """

    /// A handler on an embedded channel, with the counters it reports to.
    static func channel() throws -> (EmbeddedChannel, ProxyStatistics.Counters) {
        guard case .valid(let snapshot) = ConfigLoader().compile(Array(Self.config.utf8), file: "t.yaml") else {
            throw CancellationError()
        }
        let loop = EmbeddedEventLoop()
        let counters = ProxyStatistics.Counters()
        let connection = ClientConnection(
            slot: NIOLoopBoundBox.makeBoxSendingValue(snapshot, as: Snapshot.self, eventLoop: loop),
            pool: UpstreamPool(eventLoop: loop),
            balancerCursors: BalancerCursors(),
            dates: HTTPDateCache(),
            counters: counters,
            configuration: ProxyConfiguration(),
            logger: Logger(label: "test")
        )
        let channel = EmbeddedChannel(handler: HTTP1ServerHandler(connection: connection), loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8000)).wait()
        return (channel, counters)
    }

    /// Everything the handler wrote so far, as text.
    static func written(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    /// The status lines in `text` (a body may run straight into the next response's head).
    static func statusLines(_ text: String) -> [String] {
        text.matches(of: /HTTP\/1\.[01] \d{3} [^\r]*/).map { String($0.output) }
    }

    @Test func gatewayAnswersKeepTheConnectionAlive() throws {
        let (channel, counters) = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "GET /nowhere HTTP/1.1\r\nHost: a\r\nAccept: text/plain\r\n\r\n"))
        let text = try Self.written(channel)
        #expect(text.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(text.contains("\r\n\r\nno Route matched with those values\nrequest_id: "))
        #expect(!text.contains("Connection: close"))
        #expect(channel.isActive)
        #expect(counters.requests == 1 && counters.waiting == 1 && counters.writing == 0)
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let (channel, counters) = try Self.channel()
        try channel.writeInbound(
            ByteBuffer(
                string: "GET /guarded HTTP/1.1\r\nHost: a\r\n\r\nGET /orphan HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "GET /secure HTTP/1.1\r\nHost: a\r\n\r\nTRACE / HTTP/1.1\r\nHost: a\r\n\r\n"
            )
        )
        let lines = Self.statusLines(try Self.written(channel))
        #expect(
            lines == [
                "HTTP/1.1 401 Unauthorized", "HTTP/1.1 503 Service Unavailable", "HTTP/1.1 426 Upgrade Required",
                "HTTP/1.1 405 Method Not Allowed",
            ]
        )
        #expect(counters.requests == 4)
    }

    @Test func aBodyAfterAnEarlyAnswerIsReadAndDropped() throws {
        let (channel, _) = try Self.channel()
        // key-auth answers 401 at the head; the body still comes, then the next request.
        try channel.writeInbound(ByteBuffer(string: "POST /guarded HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n"))
        #expect(Self.statusLines(try Self.written(channel)) == ["HTTP/1.1 401 Unauthorized"])
        try channel.writeInbound(ByteBuffer(string: "0123456789GET /orphan HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(Self.statusLines(try Self.written(channel)) == ["HTTP/1.1 503 Service Unavailable"])
        #expect(channel.isActive)
    }

    @Test func unreadableRequestsAreAnsweredOnceThenClosed() throws {
        let (channel, counters) = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost : a\r\n\r\nGET / HTTP/1.1\r\n\r\n"))
        let text = try Self.written(channel)
        #expect(Self.statusLines(text) == ["HTTP/1.1 400 Bad Request"])
        #expect(text.contains("Connection: close\r\n"))
        #expect(text.contains("Bad request\nrequest_id: "))
        #expect(!channel.isActive)
        (channel.eventLoop as? EmbeddedEventLoop)?.run()
        #expect(counters.requests == 1 && counters.active == 0)
    }

    @Test func http10ClientsGetTheirConnectionClosed() throws {
        let (channel, _) = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "GET /orphan HTTP/1.0\r\n\r\n"))
        let text = try Self.written(channel)
        #expect(text.hasPrefix("HTTP/1.0 503 Service Unavailable\r\n"))
        #expect(text.contains("Connection: close\r\n"))
        #expect(!channel.isActive)
    }

    @Test func aHeadStillArrivingIsCountedAsReading() throws {
        let (channel, counters) = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "GET /orphan HTTP/1.1\r\nHo"))
        #expect(counters.reading == 1 && counters.waiting == 0)
        #expect(try Self.written(channel).isEmpty)
        try channel.writeInbound(ByteBuffer(string: "st: a\r\n\r\n"))
        #expect(Self.statusLines(try Self.written(channel)) == ["HTTP/1.1 503 Service Unavailable"])
        #expect(counters.reading == 0 && counters.waiting == 1)
    }
}
