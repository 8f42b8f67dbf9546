import Foundation
import Testing
import TurnpikeServer
import TurnpikeTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `turnpike start` with Kong's listener syntax and certificate options (the real binary).
@Suite(.serialized) struct TLSStartTests {
    let lifecycle = GatewayLifecycleTests()

    @Test func everyListenerIsServedAndSSLOnesSpeakTLS() async throws {
        let (mock, _, file) = try lifecycle.startMockWithConfig(path: "/a")
        defer { mock.signal(SIGTERM) }
        let gw = try GatewayProcess(arguments: [
            "start", "--config", file.path, "--proxy-listen", "127.0.0.1:0, 127.0.0.1:0 ssl http2",
            "--admin-listen", "127.0.0.1:0", "--workers", "1",
        ])
        defer { gw.signal(SIGKILL) }
        let ports = gw.listeningPorts("proxy", count: 2)
        try #require(ports.count == 2, "\(gw.stderr)")
        #expect(try TestClient.get(port: ports[0], "/a/request").status == 200)
        let secure = try await TLSTestClient.request(port: ports[1], path: "/a/request", serverName: "localhost")
        #expect(secure.status == 200)
        // No --ssl-cert: a self-signed certificate for localhost, said at start; http2 is warned about.
        #expect(String(describing: try #require(secure.peerCertificate)).contains("localhost"))
        #expect(gw.stderr.contains("self-signed certificate for localhost"))
        #expect(gw.stderr.contains("http2 is not served yet"))
    }

    @Test func sslCertAndKeyFilesArePresented() async throws {
        let (mock, _, file) = try lifecycle.startMockWithConfig(path: "/a")
        defer { mock.signal(SIGTERM) }
        let dir = file.deletingLastPathComponent()
        let pair = try TestCertificates.selfSigned(commonName: "gateway.test")
        try pair.certificatePEM.write(to: dir.appendingPathComponent("gw.crt"), atomically: true, encoding: .utf8)
        try pair.keyPEM.write(to: dir.appendingPathComponent("gw.key"), atomically: true, encoding: .utf8)
        let gw = try GatewayProcess(arguments: [
            "start", "--config", file.path, "--proxy-listen", "127.0.0.1:0 ssl", "--admin-listen", "127.0.0.1:0",
            "--ssl-cert", dir.appendingPathComponent("gw.crt").path,
            "--ssl-cert-key", dir.appendingPathComponent("gw.key").path, "--workers", "1",
        ])
        defer { gw.signal(SIGKILL) }
        let port = try #require(gw.listeningPorts("proxy", count: 1).first, "\(gw.stderr)")
        let r = try await TLSTestClient.request(port: port, path: "/a/x", serverName: "gateway.test")
        #expect(r.status == 200)
        #expect(String(describing: try #require(r.peerCertificate)).contains("gateway.test"))
    }

    @Test func badListenersAndCertificateOptionsStopTheStart() throws {
        let (mock, _, file) = try lifecycle.startMockWithConfig(path: "/a")
        defer { mock.signal(SIGTERM) }
        let cases: [([String], String)] = [
            (["--proxy-listen", "127.0.0.1:0 proxy_protocol"], "flag 'proxy_protocol' is not supported by Turnpike"),
            (["--proxy-listen", "127.0.0.1:0 tls"], "proxy_listen must be of form: [off] | <ip>:<port> [ssl]"),
            (["--proxy-listen", "127.0.0.1:0 ssl", "--ssl-cert", "/nonexistent.crt"], "go together"),
            (
                ["--proxy-listen", "127.0.0.1:0 ssl", "--ssl-cert", "/nonexistent.crt", "--ssl-cert-key", "/x.key"],
                "/nonexistent.crt: cannot read a PEM certificate"
            ),
        ]
        for (arguments, message) in cases {
            let gw = try GatewayProcess(
                arguments: ["start", "--config", file.path, "--admin-listen", "127.0.0.1:0"] + arguments
            )
            #expect(gw.waitForExit() == 2, "\(arguments)")
            #expect(gw.stderr.contains(message), "\(gw.stderr)")
            #expect(!gw.stderr.contains("listening"))
        }
    }
}

/// `validate` and an expired certificate: it loads (exit 0), as in Kong, with a warning.
@Suite struct ExpiredCertificateTests {
    @Test func anExpiredCertificateIsValidWithAWarning() throws {
        let pem = try ServerCertificate.selfSignedPEM(commonName: "old.test", validFor: -60)
        let yaml = """
            _format_version: "3.0"
            certificates:
              - cert: |
            \(TestCertificates.yamlBlock(pem.certificate, indent: 6))
                key: |
            \(TestCertificates.yamlBlock(pem.key, indent: 6))
            """
        let file = try CommandRunner.temporaryDirectory().appendingPathComponent("kong.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let r = try CommandRunner.run(["validate", file.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains(":3:5: warning: certificates[0].cert: certificate expired"), "\(r.stderr)")
        #expect(!r.stderr.contains("PRIVATE KEY"))
    }
}
