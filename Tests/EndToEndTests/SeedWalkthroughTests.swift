import Foundation
import Testing
import TurnpikeServer
import TurnpikeTestSupport

/// Kong's key-auth walkthrough (shared/reference/seed-000), in DB-less form, over real sockets.
@Suite struct SeedWalkthroughTests {
    static func config(enabled: Bool) -> String {
        """
        _format_version: "3.0"
        services:
          - name: example_service
            url: http://{{MOCK}}
            routes:
              - name: mocking
                paths:
                  - /mock
                plugins:
                  - name: key-auth
                    enabled: \(enabled)
        consumers:
          - username: consumer
            custom_id: consumer
            keyauth_credentials:
              - key: apikey
        """
    }

    @Test func walkthrough() async throws {
        let gw = try await TestGateway.start(yaml: Self.config(enabled: true))
        do {
            try await self.steps(gw)
        } catch {
            await gw.stop()
            throw error
        }
        await gw.stop()
    }

    func steps(_ gw: TestGateway) async throws {
        let port = gw.proxyPort

        let missing = try TestClient.get(port: port, "/mock")
        #expect(missing.status == 401)
        #expect(missing.header("www-authenticate") == "Key")
        #expect(missing.json?["message"] as? String == "No API key found in request")
        #expect(missing.json?["request_id"] as? String == missing.header("x-kong-request-id"))

        let byHeader = try TestClient.get(port: port, "/mock/request", headers: ["apikey": "apikey"])
        #expect(byHeader.status == 200)
        let upstreamHeaders = byHeader.json?["headers"] as? [String: String] ?? [:]
        #expect(upstreamHeaders["x-consumer-username"] == "consumer")
        #expect(upstreamHeaders["x-consumer-custom-id"] == "consumer")
        #expect(upstreamHeaders["x-credential-identifier"] != nil)

        #expect(try TestClient.get(port: port, "/mock/?apikey=apikey").status == 200)
        let wrong = try TestClient.get(port: port, "/mock/request", headers: ["apikey": "nope"])
        #expect(wrong.status == 401)
        #expect(wrong.json?["message"] as? String == "Unauthorized")

        // "Disable the plugin": `enabled: false` in the file, then a reload.
        let text = Self.config(enabled: false).replacingOccurrences(of: "{{MOCK}}", with: "127.0.0.1:\(gw.mockPort)")
        guard case .valid(let next) = ConfigLoader().compile(Array(text.utf8), file: "kong.yaml", generation: 2) else {
            Issue.record("the disabled config should load")
            return
        }
        try await gw.store.publish(next)
        #expect(try TestClient.get(port: port, "/mock/request").status == 200)
    }

    /// The same steps over `https://localhost:<tls port>` (curl -k: the listener's generated
    /// certificate), the plugin disabled by editing the file and reloading.
    @Test func walkthroughOverHTTPS() async throws {
        try await TestGateway.with(yaml: Self.config(enabled: true), certificate: try ServerCertificate.selfSigned()) {
            gw in
            let tls = try #require(gw.proxyTLSPort)
            func get(_ path: String, _ headers: [(String, String)] = []) async throws -> TLSTestClient.Response {
                try await TLSTestClient.request(port: tls, path: path, headers: headers, serverName: "localhost")
            }
            func json(_ r: TLSTestClient.Response) -> [String: Any]? {
                try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]
            }
            let missing = try await get("/mock")
            #expect(missing.status == 401)
            #expect(missing.header("www-authenticate") == "Key")
            #expect(json(missing)?["message"] as? String == "No API key found in request")
            let byHeader = try await get("/mock/request", [("apikey", "apikey")])
            #expect(byHeader.status == 200)
            let upstream = json(byHeader)?["headers"] as? [String: String] ?? [:]
            #expect(upstream["x-consumer-username"] == "consumer")
            #expect(upstream["x-forwarded-proto"] == "https")
            #expect(try await get("/mock/?apikey=apikey").status == 200)
            let wrong = try await get("/mock/request", [("apikey", "nope")])
            #expect(wrong.status == 401)
            #expect(json(wrong)?["message"] as? String == "Unauthorized")
            try gw.writeConfig(Self.config(enabled: false))
            _ = await gw.reloader.reload()
            #expect(try await get("/mock/request").status == 200)
        }
    }

    @Test func basicAuthWithACL() async throws {
        let yaml = """
            _format_version: "3.0"
            services:
              - name: s
                url: http://{{MOCK}}
                routes:
                  - name: r
                    paths: [/p]
                    plugins:
                      - name: basic-auth
                        config:
                          hide_credentials: true
                      - name: acl
                        config:
                          allow: [admins]
            consumers:
              - username: bob
                basicauth_credentials:
                  - username: bob
                    password: s3cret
                acls:
                  - group: admins
              - username: eve
                basicauth_credentials:
                  - username: eve
                    password: pw
            """
        let gw = try await TestGateway.start(yaml: yaml)
        do {
            let port = gw.proxyPort
            let none = try TestClient.get(port: port, "/p/request")
            #expect(none.status == 401)
            #expect(none.header("www-authenticate") == "Basic realm=\"service\"")
            // base64("bob:s3cret"), base64("eve:pw")
            let bob = try TestClient.get(port: port, "/p/request", headers: ["Authorization": "Basic Ym9iOnMzY3JldA=="])
            #expect(bob.status == 200)
            let headers = bob.json?["headers"] as? [String: String] ?? [:]
            #expect(headers["x-consumer-username"] == "bob")
            #expect(headers["x-consumer-groups"] == "admins")
            #expect(headers["x-credential-identifier"] == "bob")
            #expect(headers["authorization"] == nil)
            let eve = try TestClient.get(port: port, "/p/request", headers: ["Authorization": "Basic ZXZlOnB3"])
            #expect(eve.status == 403)
            #expect(eve.json?["message"] as? String == "You cannot consume this service")
        } catch {
            await gw.stop()
            throw error
        }
        await gw.stop()
    }
}
