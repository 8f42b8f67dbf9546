import Logging
import NIOCore
import NIOHTTP1

/// One HTTP/1 client connection: parses requests (`RequestParser`), hands each to a
/// `RequestPipeline`, and writes what the pipeline sends back as HTTP/1 bytes (it is the
/// pipeline's `Downstream`). Keep-alive, pipelining, read gating, the idle timeout and the
/// response framing live here; routing, plugins and the upstream do not.
///
/// Loop-confined. One request at a time: a pipelined request that arrives while the current one is
/// answered waits as bytes in `input` (and reads pause) until the connection is idle. The
/// connection's states are `HTTP1ConnectionStateMachine`'s; this handler carries its actions out.
final class HTTP1ServerHandler: ChannelDuplexHandler, RemovableChannelHandler, Downstream {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let connection: ClientConnection
    private var machine = HTTP1ConnectionStateMachine()
    /// The request in progress.
    private var pipeline: RequestPipeline?
    private var context: ChannelHandlerContext?
    private var readGate = ReadGate()
    /// The request parser and the bytes it has not read: a pipelined request waits here, as
    /// bytes, while the one before it is answered.
    private var parser: RequestParser
    private var input: ByteBuffer?
    /// Reused between reads so collecting parser events allocates nothing.
    private var events: [RequestParser.Event] = []
    /// What the current request says about its response, and how its body goes out.
    private var request = HTTP1ResponseWriter.Request.unreadable
    private var framing = HTTP1ResponseWriter.Framing()
    /// The response head, held (`headHeld`) until the end of the current read so a small body
    /// that came with it joins it in one buffer, one write. The buffer is reused from response to
    /// response (`HeadWriter.write(into:)`): no allocation per head once the connection is warm.
    private var head = ByteBuffer()
    private var headHeld = false
    var recordsResponseHead = false
    private(set) var responseBytes = 0
    /// The last response head written, when `recordsResponseHead`.
    private var recordedHead: [UInt8] = []
    /// What nginx's counters currently count this connection as.
    private var counted = ProxyStatistics.Activity.waiting

    /// The channel's allocator, noted once (reaching it through the context walks the pipeline).
    private(set) var allocator = ByteBufferAllocator()

    init(connection: ClientConnection) {
        self.connection = connection
        let configuration = connection.configuration
        self.parser = RequestParser(
            limits: RequestParser.Limits(
                maxURIBytes: configuration.maxURIBytes,
                maxHeaderLineBytes: configuration.maxHeaderLineBytes,
                maxHeaderSectionBytes: configuration.maxHeaderBytes
            )
        )
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.allocator = context.channel.allocator
        self.connection.bind(to: context.channel)
        self.armIdleTimer(in: self.connection.configuration.keepAliveTimeout)
        // Counted until the socket closes, also after it became a tunnel (the handler leaves then).
        let counters = self.connection.counters
        counters.opened()
        self.connection.serial = counters.accepted
        context.channel.closeFuture.assumeIsolated().whenComplete { _ in
            counters.closed(in: self.counted)
        }
    }

    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        // Becoming a tunnel: bytes held after the upgrade request go on, and a read held back
        // for them is issued.
        if let input = self.input, input.readableBytes > 0 {
            self.input = nil
            context.fireChannelRead(NIOAny(input))
        }
        self.input = nil
        if self.readGate.isPaused {
            self.readGate.resume(context: nil)
            context.read()
        }
        context.leavePipeline(removalToken: removalToken)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.idleTimer?.cancel()
        self.idleTimer = nil
        self.context = nil
    }

    /// Follows the state machine into nginx's reading / writing / waiting counts.
    private func recount() {
        let now = self.machine.activity
        guard now != self.counted else { return }
        self.connection.counters.moved(from: self.counted, to: now)
        self.counted = now
    }

    // MARK: - Idle connections

    /// One timer per connection: reads only note their time; when the timer fires early it re-arms
    /// for the rest (cheaper than a pipeline handler that every read passes through).
    private var idleTimer: Scheduled<Void>?
    private var lastClientRead = NIODeadline.now()
    /// The clock as read at the start of the current `channelRead` (nil outside one).
    private var readClock: NIODeadline?

    private func armIdleTimer(in delay: TimeAmount) {
        guard let context = self.context else { return }
        self.idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [unowned self] in
            // Cancelled in handlerRemoved, so it never outlives the handler.
            self.idleTimerFired()
        }
    }

    private func idleTimerFired() {
        self.idleTimer = nil
        let timeout = self.connection.configuration.keepAliveTimeout
        let idle = NIODeadline.now() - self.lastClientRead
        // Keep-alive, head and body timeouts; a request waiting for its upstream is not idle.
        if idle >= timeout, self.machine.waitsForClient(readsPaused: self.readGate.isPaused) {
            self.closeClient()
            return
        }
        self.armIdleTimer(in: idle >= timeout ? timeout : timeout - idle)
    }

    // MARK: - Reading requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = self.unwrapInboundIn(data)
        if self.machine.isClosed { return }
        // One clock read per socket read: the idle timers and the requests this read starts share it.
        let now = NIODeadline.now()
        self.lastClientRead = now
        self.readClock = now
        defer { self.readClock = nil }
        if var input = self.input {
            self.input = nil
            input.writeBuffer(&buffer)
            buffer = input
        }
        self.parse(buffer)
    }

    /// Parses and processes `buffer` up to where the connection must wait: the end of the bytes,
    /// or a next request while this one is answered (the rest is kept in `input`, reads pause).
    private func parse(_ buffer: ByteBuffer) {
        var buffer = buffer
        while true {
            if buffer.readableBytes > 0 {
                self.machine.bytesArrived()
                self.recount()
            }
            // Events are processed after the parser returns: processing one may answer the
            // request and start the next, which must find the parser at rest.
            var events = self.events
            self.events = []
            var failure: HTTPWireError?
            do {
                try self.parser.feed(&buffer) { events.append($0) }
            } catch {
                failure = error as? HTTPWireError ?? .invalid("\(error)")
            }
            for event in events { self.process(event) }
            events.removeAll(keepingCapacity: true)
            self.events = events
            if let failure {
                self.requestFailed(failure)
                return
            }
            if buffer.readableBytes == 0 || self.machine.isClosed { return }
            // Idle again (the request was answered while its bytes were parsed): go on.
            if self.machine.isIdle && self.parser.isAtMessageBoundary {
                self.parser.next()
                continue
            }
            self.input = buffer
            self.pauseReads()
            return
        }
    }

    private func process(_ event: RequestParser.Event) {
        switch event {
        case .head(let head):
            self.machine.headReceived()
            self.recount()
            self.connection.counters.requests += 1
            self.connection.requests += 1
            self.request = HTTP1ResponseWriter.Request(
                version: head.version,
                isHEAD: head.method == .HEAD,
                keepAlive: head.isKeepAlive
            )
            self.framing = HTTP1ResponseWriter.Framing()
            self.responseBytes = 0
            self.recordedHead = []
            // A pipelined request parsed after the previous answer reads the clock itself.
            let pipeline = RequestPipeline(
                head: head,
                start: self.readClock ?? .now(),
                connection: self.connection,
                downstream: self
            )
            self.pipeline = pipeline
            pipeline.begin()
        case .body(let buffer):
            if self.machine.bodyReceived() == .forward { self.pipeline?.clientBody(buffer) }
        case .end:
            self.perform(self.machine.requestEnded())
        }
    }

    /// A request the parser refused: answered once, then the connection closes (RFC 9112 §2.2,
    /// §11.2).
    private func requestFailed(_ failure: HTTPWireError) {
        let status: HTTPResponseStatus
        let message: String
        switch failure {
        case .uriTooLong:
            (status, message) = (.uriTooLong, "URI too long")
        case .headTooLarge:
            // nginx's 494, which Kong's error handler answers as 400 (kong/error_handlers.lua).
            (status, message) = (.badRequest, "Request header or cookie too large")
        case .unsupportedTransferEncoding:
            (status, message) = (.notImplemented, "Not implemented")
        case .invalid:
            (status, message) = (.badRequest, "Bad request")
        }
        self.input = nil
        let inRequest = self.machine.activity == .writing
        let action = self.machine.parseFailed(responseStarted: self.pipeline?.responseStarted ?? false)
        switch action {
        case .answerErrorAndClose:
            if inRequest, let pipeline = self.pipeline {
                // A framing error in the body (a bad chunk size): the request is void, say so.
                pipeline.failRequest(status: status, message: message)
            } else {
                // No head: a request nginx would have counted, answered by the gateway.
                self.connection.counters.requests += 1
                self.request = .unreadable
                RequestPipeline.answerUnreadable(
                    status: status,
                    message: message,
                    connection: self.connection,
                    downstream: self
                )
            }
        default:
            self.perform(action)
        }
    }

    /// Carries out what the state machine decided.
    private func perform(_ action: HTTP1ConnectionStateMachine.Action) {
        self.recount()
        switch action {
        case .none, .drop, .answerErrorAndClose:
            break
        case .forward:
            self.pipeline?.clientEnd()
        case .takeNextRequest:
            self.pipeline = nil
            // A message ended (or an upgrade was declined): the parser may read the next one.
            self.parser.next()
            if let input = self.input {
                self.input = nil
                self.parse(input)
            }
            if self.input == nil { self.resumeReads() }
        case .close:
            self.pipeline = nil
            self.context?.close(promise: nil)
        case .abortRequestAndClose:
            self.pipeline?.clientClosed()
            self.pipeline = nil
            self.context?.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.pipeline?.clientReadComplete()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.pipeline?.clientWritabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if self.machine.closed() == .abortRequestAndClose { self.pipeline?.clientClosed() }
        self.pipeline = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.connection.logger.debug("client connection error", metadata: ["error": "\(error)"])
        self.closeClient()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // Graceful shutdown: idle connections close now, busy ones after their response.
            if self.machine.quiesce() == .close { self.closeClient() }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func read(context: ChannelHandlerContext) {
        self.readGate.read(context: context)
    }

    private func closeClient() {
        self.perform(self.machine.closed())
        self.context?.close(promise: nil)
    }

    // MARK: - Downstream

    var isWritable: Bool { self.context?.channel.isWritable ?? false }

    func pauseReads() {
        self.readGate.pause()
    }

    func resumeReads() {
        // A waiting pipelined request keeps reads paused until it has been answered.
        guard self.input == nil else { return }
        // Time spent held back by the gateway does not count as the client being idle.
        if self.readGate.isPaused { self.lastClientRead = .now() }
        self.readGate.resume(context: self.context)
    }

    func sendContinue() {
        self.write(
            HeadWriter.write(allocator: self.allocator, capacity: 32) {
                $0.statusLine(version: self.request.version, status: .continue)
            }
        )
        self.context?.flush()
    }

    func responseHeaderLines() -> [(name: String, value: String)] {
        let bytes = self.recordedHead
        guard let lineEnd = bytes.firstIndex(of: 0x0A) else { return [] }
        var out: [(name: String, value: String)] = []
        for line in bytes[(lineEnd + 1)...].split(separator: 0x0A) {
            let text = line.last == 0x0D ? line.dropLast() : line[...]
            guard let colon = text.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let value = text[(colon + 1)...].drop { $0 == 0x20 || $0 == 0x09 }
            out.append((String(decoding: text[..<colon], as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        return out
    }

    func sendHead(_ head: ResponseHeadOut) {
        self.releaseHead()
        self.framing = HTTP1ResponseWriter.write(
            head,
            request: self.request,
            connection: self.connection,
            into: &self.head,
            allocator: self.allocator
        )
        // The chunked terminator counts now: the log phase runs before it is written.
        self.responseBytes = self.head.readableBytes + (self.framing.chunked ? 5 : 0)
        if self.recordsResponseHead { self.recordedHead = Array(self.head.readableBytesView) }
        if self.framing.upgrade {
            self.write(self.head)
            self.context?.flush()
        } else {
            self.headHeld = true
        }
    }

    func sendBody(_ buffer: ByteBuffer) {
        guard buffer.readableBytes > 0 else { return }
        // Chunk framing counts too (nginx's `$bytes_sent`): size line and CRLF.
        self.responseBytes += buffer.readableBytes
        if self.framing.chunked {
            // Hex digits of the size, and two CRLFs.
            self.responseBytes += (Int.bitWidth - buffer.readableBytes.leadingZeroBitCount + 3) / 4 + 4
        }
        if self.framing.chunked {
            self.releaseHead()
            guard let context = self.context else { return }
            ChunkedFraming.write(buffer, allocator: self.allocator) {
                context.write(self.wrapOutboundOut($0), promise: nil)
            }
            return
        }
        if self.headHeld, buffer.readableBytes <= 4096 {
            self.head.writeImmutableBuffer(buffer)
            return
        }
        self.releaseHead()
        self.write(buffer)
    }

    func flush() {
        self.releaseHead()
        self.context?.flush()
    }

    func sendEnd() {
        self.releaseHead()
        let close = self.framing.closeAfter
        // The state changes first: the next request may be taken as soon as this one is over.
        let action = self.machine.responseEnded(close: close)
        self.recount()
        guard let context = self.context else { return }
        // The last chunk for a chunked body; otherwise the write tells when all went out.
        let end = self.framing.chunked ? ChunkedFraming.terminator(allocator: self.allocator) : ByteBuffer()
        if close {
            self.pipeline = nil
            context.writeAndFlush(self.wrapOutboundOut(end)).assumeIsolated().whenComplete { _ in
                self.closeClient()
            }
            return
        }
        if self.framing.chunked {
            context.writeAndFlush(self.wrapOutboundOut(end), promise: nil)
        } else {
            context.flush()
        }
        // Reads resume for the rest of the body or the next request.
        self.resumeReads()
        self.perform(action)
    }

    func abort() {
        self.releaseHead()
        self.context?.flush()
        self.closeClient()
    }

    func becomeTunnel(upstream: any Channel) {
        // The client left while the 101 was on its way: nothing to relay to.
        guard let context = self.context, context.channel.isActive else {
            upstream.close(promise: nil)
            return
        }
        self.machine.upgraded()
        self.pipeline = nil
        do {
            try Tunnel.splice(client: context.channel, upstream: upstream)
        } catch {
            self.connection.logger.debug(
                "could not splice the upgraded connections",
                metadata: ["error": "\(error)"]
            )
            context.close(promise: nil)
            upstream.close(promise: nil)
        }
    }

    private func write(_ buffer: ByteBuffer) {
        self.context?.write(self.wrapOutboundOut(buffer), promise: nil)
    }

    private func releaseHead() {
        if self.headHeld {
            self.headHeld = false
            self.write(self.head)
        }
    }
}
