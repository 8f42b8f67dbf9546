import Foundation
import NIOPosix
import NIOSSL
import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// The TLS proxy listener (issue #12, first part): Kong's `ssl` listeners with the default
/// certificate, the request facts TLS gives (scheme, port, SNI), https-only routes, and nginx's
/// answer to plain HTTP on the HTTPS port. Real gateway, real upstream, loopback.
@Suite struct TLSListenerEndToEndTests {
    static let config = """
        _format_version: "3.0"
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: open
                paths: [/open]
              - name: secure-only
                paths: [/secure]
                protocols: [https]
              - name: by-sni
                paths: [/sni]
                protocols: [https]
                snis: [api.test]
        """

    func withGateway(_ body: (TestGateway, Int) async throws -> Void) async throws {
        let certificate = try ServerCertificate.selfSigned()
        try await TestGateway.with(yaml: Self.config, certificate: certificate) { gw in
            let tls = try #require(gw.proxyTLSPort)
            try await body(gw, tls)
        }
    }

    @Test func proxiesOverTLSWithHTTPSForwardingHeaders() async throws {
        try await withGateway { gw, tls in
            let r = try await TLSTestClient.request(port: tls, path: "/open/request", group: gw.group)
            #expect(r.status == 200)
            let echo = try #require(
                try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]
            )
            let headers = try #require(echo["headers"] as? [String: String])
            // kong/runloop/handler.lua: X-Forwarded-Proto is the request's scheme, the port the listener's.
            #expect(headers["x-forwarded-proto"] == "https")
            #expect(headers["x-forwarded-port"] == "\(tls)")
            #expect(r.header("via") == "1.1 turnpike/0.1.0")
            // The plain listener still says http.
            let plain = try TestClient.get(port: gw.proxyPort, "/open/request")
            let plainHeaders = try #require(plain.json?["headers"] as? [String: String])
            #expect(plainHeaders["x-forwarded-proto"] == "http")
        }
    }

    @Test func theDefaultCertificateIsASelfSignedOneForLocalhost() async throws {
        try await withGateway { gw, tls in
            let r = try await TLSTestClient.request(
                port: tls,
                path: "/open/x",
                serverName: "localhost",
                group: gw.group
            )
            #expect(r.status == 200)
            let certificate = try #require(r.peerCertificate)
            let subject = String(describing: certificate)
            #expect(subject.contains("localhost"), "\(subject)")
            // The client that trusts it by its own bytes verifies it for the name localhost.
            let verified = try await TLSTestClient.request(
                port: tls,
                path: "/open/x",
                serverName: "localhost",
                trustRoots: [certificate],
                group: gw.group
            )
            #expect(verified.status == 200)
        }
    }

    @Test func httpsOnlyRoutesAnswer426OverPlainHTTPAndProxyOverTLS() async throws {
        try await withGateway { gw, tls in
            let plain = try TestClient.get(port: gw.proxyPort, "/secure/x")
            #expect(plain.status == 426)
            #expect(plain.json?["message"] as? String == "Please use HTTPS protocol")
            let secure = try await TLSTestClient.request(port: tls, path: "/secure/x", group: gw.group)
            #expect(secure.status == 200)
        }
    }

    @Test func routeSnisMatchTheHandshakesServerName() async throws {
        try await withGateway { gw, tls in
            let named = try await TLSTestClient.request(
                port: tls,
                path: "/sni/x",
                serverName: "api.test",
                group: gw.group
            )
            #expect(named.status == 200)
            let other = try await TLSTestClient.request(
                port: tls,
                path: "/sni/x",
                serverName: "other.test",
                group: gw.group
            )
            #expect(other.status == 404)
            let none = try await TLSTestClient.request(port: tls, path: "/sni/x", group: gw.group)
            #expect(none.status == 404)
        }
    }

    @Test func plainHTTPOnTheTLSPortGetsNginxs400() async throws {
        try await withGateway { gw, tls in
            let client = try TestClient(port: tls)
            try client.send("GET /open/x HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let r = try client.readResponse()
            #expect(r.status == 400)
            #expect(r.header("content-type") == "text/html")
            #expect(r.header("connection") == "close")
            #expect(r.header("server") == "turnpike/0.1.0")
            #expect(r.text.contains("<title>400 The plain HTTP request was sent to HTTPS port</title>"))
            #expect(client.isClosedByPeer())
            // The listener goes on serving TLS.
            let secure = try await TLSTestClient.request(port: tls, path: "/open/x", group: gw.group)
            #expect(secure.status == 200)
        }
    }

    @Test func aCertificateFileAndItsKeyAreLoadedAndAMismatchedKeyIsRefused() throws {
        let dir = try CommandRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try TestCertificates.selfSigned(commonName: "a.test")
        let b = try TestCertificates.selfSigned(commonName: "b.test")
        let cert = dir.appendingPathComponent("a.crt")
        let key = dir.appendingPathComponent("a.key")
        let otherKey = dir.appendingPathComponent("b.key")
        try a.certificatePEM.write(to: cert, atomically: true, encoding: .utf8)
        try a.keyPEM.write(to: key, atomically: true, encoding: .utf8)
        try b.keyPEM.write(to: otherKey, atomically: true, encoding: .utf8)
        let loaded = try ServerCertificate.load(certificateFile: cert.path, keyFile: key.path)
        #expect(loaded.chain.count == 1)
        #expect(throws: ServerCertificate.Invalid.self) {
            try ServerCertificate.load(certificateFile: cert.path, keyFile: otherKey.path)
        }
        #expect(throws: ServerCertificate.Invalid.self) {
            try ServerCertificate.load(certificateFile: key.path, keyFile: key.path)
        }
    }
}
