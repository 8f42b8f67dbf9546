import NIOCore

/// What the server needs from a TLS ClientHello before choosing its certificate: the server name
/// (SNI) and whether the client can take an ECDSA certificate (for a `certificates` entity with a
/// `cert_alt`: one RSA and one ECDSA, chosen as OpenSSL does for nginx, by the signature algorithms
/// the client offers).
struct ClientHello: Equatable {
    var serverName: String?
    /// The client offers an ECDSA signature scheme (TLS 1.2 and 1.3 `signature_algorithms`), or,
    /// without that extension, an ECDHE-ECDSA cipher suite.
    var acceptsECDSA: Bool

    enum Outcome: Equatable {
        case incomplete
        /// Not a ClientHello TLS can be read from: the TLS stack will say why.
        case unreadable
        case hello(ClientHello)
    }

    /// The longest ClientHello waited for (nginx reads it within its 16 KiB TLS record buffers).
    static let maxLength = 16 * 1024

    /// Reads the ClientHello at the start of `buffer` (TLS records of type handshake), without
    /// consuming anything.
    static func parse(_ buffer: ByteBuffer) -> Outcome {
        // The handshake message may span several records: their payloads are joined first.
        var records = buffer
        var message = ByteBuffer()
        while true {
            guard let type = records.readInteger(as: UInt8.self), let _ = records.readInteger(as: UInt16.self),
                let length = records.readInteger(as: UInt16.self)
            else { return .incomplete }
            // A TLS plaintext record holds at most 2^14 bytes (RFC 8446 §5.1).
            guard type == 0x16, length > 0, length <= 16384 else { return .unreadable }
            guard var payload = records.readSlice(length: Int(length)) else {
                return records.readableBytes + 5 + message.readableBytes > Self.maxLength ? .unreadable : .incomplete
            }
            message.writeBuffer(&payload)
            guard message.readableBytes >= 4 else { continue }
            guard message.getInteger(at: message.readerIndex, as: UInt8.self) == 0x01 else { return .unreadable }
            let bodyLength =
                Int(message.getInteger(at: message.readerIndex + 1, as: UInt8.self)!) << 16
                | Int(message.getInteger(at: message.readerIndex + 2, as: UInt16.self)!)
            guard bodyLength + 4 <= Self.maxLength else { return .unreadable }
            if message.readableBytes >= bodyLength + 4 {
                message.moveReaderIndex(forwardBy: 4)
                guard let body = message.readSlice(length: bodyLength) else { return .unreadable }
                return Self.parseBody(body).map(Outcome.hello) ?? .unreadable
            }
        }
    }

    /// The ClientHello body (RFC 8446 §4.1.2).
    private static func parseBody(_ body: ByteBuffer) -> ClientHello? {
        var b = body
        guard b.readInteger(as: UInt16.self) != nil, b.readSlice(length: 32) != nil,
            let sessionLength = b.readInteger(as: UInt8.self), b.readSlice(length: Int(sessionLength)) != nil,
            let suitesLength = b.readInteger(as: UInt16.self), var suites = b.readSlice(length: Int(suitesLength)),
            let compressionLength = b.readInteger(as: UInt8.self), b.readSlice(length: Int(compressionLength)) != nil
        else { return nil }
        var hello = ClientHello(serverName: nil, acceptsECDSA: false)
        var offeredSignatureAlgorithms = false
        if let extensionsLength = b.readInteger(as: UInt16.self),
            var extensions = b.readSlice(length: Int(extensionsLength))
        {
            while let type = extensions.readInteger(as: UInt16.self),
                let length = extensions.readInteger(as: UInt16.self)
            {
                guard var data = extensions.readSlice(length: Int(length)) else { return nil }
                switch type {
                case 0x0000:  // server_name
                    guard data.readInteger(as: UInt16.self) != nil else { return nil }
                    while let nameType = data.readInteger(as: UInt8.self),
                        let nameLength = data.readInteger(as: UInt16.self)
                    {
                        guard let name = data.readString(length: Int(nameLength)) else { return nil }
                        if nameType == 0, hello.serverName == nil { hello.serverName = name }
                    }
                case 0x000d:  // signature_algorithms
                    offeredSignatureAlgorithms = true
                    guard data.readInteger(as: UInt16.self) != nil else { return nil }
                    while let scheme = data.readInteger(as: UInt16.self) {
                        // ecdsa_sha1, ecdsa_secp256r1_sha256, ..._secp384r1_sha384, ..._secp521r1_sha512
                        if scheme & 0x00ff == 0x03 && (0x02...0x06).contains(scheme >> 8) { hello.acceptsECDSA = true }
                    }
                default:
                    break
                }
            }
        }
        if !offeredSignatureAlgorithms {
            // Without the extension (TLS 1.2 and older), ECDHE-ECDSA suites say it.
            while let suite = suites.readInteger(as: UInt16.self) {
                if Self.ecdsaSuites.contains(suite) { hello.acceptsECDSA = true }
            }
        }
        return hello
    }

    /// TLS 1.2 ECDHE-ECDSA suites (AES-GCM, ChaCha20, AES-CBC).
    static let ecdsaSuites: Set<UInt16> = [0xC02B, 0xC02C, 0xCCA9, 0xC009, 0xC00A, 0xC023, 0xC024]
}

/// Reads the ClientHello a TLS connection starts with, without consuming it, then hands it to
/// `completion` (which puts the TLS handler, with the chosen certificate, after this one) and
/// leaves: the bytes it held go on to the TLS handler. Like NIO's `SNIHandler`, which reads only
/// the server name.
final class ClientHelloReader: ByteToMessageDecoder {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    var cumulationBuffer: ByteBuffer?
    private let completion: (ClientHello?) -> EventLoopFuture<Void>
    private var waiting = false

    /// `completion` gets nil for bytes no ClientHello can be read from (the TLS handler then
    /// fails the handshake with its own alert).
    init(completion: @escaping (ClientHello?) -> EventLoopFuture<Void>) {
        self.completion = completion
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) -> DecodingState {
        guard !self.waiting else { return .needMoreData }
        switch ClientHello.parse(buffer) {
        case .incomplete:
            return .needMoreData
        case .unreadable:
            self.finish(context: context, nil)
        case .hello(let hello):
            self.finish(context: context, hello)
        }
        return .needMoreData
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) -> DecodingState {
        context.fireChannelRead(NIOAny(buffer))
        return .needMoreData
    }

    private func finish(context: ChannelHandlerContext, _ hello: ClientHello?) {
        self.waiting = true
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        self.completion(hello).hop(to: context.eventLoop).whenSuccess {
            let context = bound.value
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}
