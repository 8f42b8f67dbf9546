import NIOCore
import NIOEmbedded
import NIOSSL
import Testing

@testable import TurnpikeServer

/// The ClientHello a real TLS client (BoringSSL, through NIOSSL) sends, read for its server name
/// and whether it takes an ECDSA certificate.
@Suite struct ClientHelloTests {
    /// The bytes a client's handshake starts with.
    static func hello(serverName: String?, signatureAlgorithms: [SignatureAlgorithm]? = nil) throws -> ByteBuffer {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        configuration.verifySignatureAlgorithms = signatureAlgorithms
        let context = try NIOSSLContext(configuration: configuration)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            try NIOSSLClientHandler(context: context, serverHostname: serverName)
        )
        channel.pipeline.fireChannelActive()
        var bytes = ByteBuffer()
        while let out = try channel.readOutbound(as: ByteBuffer.self) {
            var out = out
            bytes.writeBuffer(&out)
        }
        _ = try? channel.finish()
        return bytes
    }

    @Test func aBoringSSLClientHello() throws {
        let hello = try Self.hello(serverName: "api.example.test")
        #expect(ClientHello.parse(hello) == .hello(ClientHello(serverName: "api.example.test", acceptsECDSA: true)))
        #expect(
            ClientHello.parse(try Self.hello(serverName: nil))
                == .hello(ClientHello(serverName: nil, acceptsECDSA: true))
        )
        let rsaOnly = try Self.hello(serverName: "a.test", signatureAlgorithms: [.rsaPssRsaeSha256, .rsaPkcs1Sha256])
        #expect(ClientHello.parse(rsaOnly) == .hello(ClientHello(serverName: "a.test", acceptsECDSA: false)))
    }

    @Test func partialAndForeignBytes() throws {
        let hello = try Self.hello(serverName: "a.test")
        for cut in [0, 1, 5, 9, hello.readableBytes - 1] {
            #expect(ClientHello.parse(hello.getSlice(at: hello.readerIndex, length: cut)!) == .incomplete, "\(cut)")
        }
        #expect(ClientHello.parse(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n")) == .unreadable)
        // A handshake record whose message is not a ClientHello.
        #expect(ClientHello.parse(ByteBuffer(bytes: [0x16, 3, 1, 0, 4, 0x02, 0, 0, 0])) == .unreadable)
        // Declared lengths past the limits are not waited for: a record over 2^14 bytes, a
        // ClientHello over 16 KiB.
        #expect(ClientHello.parse(ByteBuffer(bytes: [0x16, 3, 1, 0x40, 0x01, 0x01])) == .unreadable)
        #expect(ClientHello.parse(ByteBuffer(bytes: [0x16, 3, 1, 0, 4, 0x01, 0x01, 0x00, 0x00])) == .unreadable)
    }
}
