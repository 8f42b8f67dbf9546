import Foundation
import Testing
import TurnpikeTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The real binary: start-up errors, SIGHUP reloads, SIGTERM draining. Ports are 0 everywhere;
/// the bound ports are read from the gateway's log.
@Suite(.serialized) struct GatewayLifecycleTests {
    func config(mockPort: Int, path: String) -> String {
        """
        _format_version: "3.0"
        services:
          - name: mock
            url: http://127.0.0.1:\(mockPort)
            routes:
              - name: r
                paths: [\(path)]
        """
    }

    func startMock() throws -> (GatewayProcess, Int) {
        let mock = try GatewayProcess(arguments: ["mock", "--listen", "127.0.0.1:0"])
        let port = try #require(mock.listeningPort("mock upstream"))
        return (mock, port)
    }

    /// A mock upstream and a config file routing `path` to it.
    func startMockWithConfig(path: String) throws -> (GatewayProcess, Int, URL) {
        let (mock, mockPort) = try startMock()
        let file = try CommandRunner.temporaryDirectory().appendingPathComponent("kong.yaml")
        try config(mockPort: mockPort, path: path).write(to: file, atomically: true, encoding: .utf8)
        return (mock, mockPort, file)
    }

    func startGateway(configFile: URL) throws -> (GatewayProcess, proxy: Int, admin: Int) {
        let gw = try GatewayProcess(arguments: [
            "start", "--config", configFile.path, "--proxy-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
            "--workers", "2",
        ])
        let proxy = try #require(gw.listeningPort("proxy"), "\(gw.stderr)")
        let admin = try #require(gw.listeningPort("admin"), "\(gw.stderr)")
        return (gw, proxy, admin)
    }

    @Test func invalidConfigAtStartExitsOneBeforeBinding() throws {
        let dir = try CommandRunner.temporaryDirectory()
        let file = dir.appendingPathComponent("kong.yaml")
        try "_format_version: \"3.0\"\nservices:\n  - name: s\n    port: 99999\n".write(
            to: file,
            atomically: true,
            encoding: .utf8
        )
        let gw = try GatewayProcess(arguments: ["start", "--config", file.path, "--proxy-listen", "127.0.0.1:0"])
        #expect(gw.waitForExit() == 1)
        #expect(gw.stderr.contains("kong.yaml:4:11: services[0].port: value should be between 0 and 65535"))
        #expect(gw.stderr.contains("services[0].host: required field missing"))
        #expect(!gw.stderr.contains("listening"))
    }

    @Test func sighupAndPostReloadSwapConfigsAndRejectBadOnes() throws {
        let (mock, mockPort, file) = try startMockWithConfig(path: "/a")
        defer { mock.signal(SIGTERM) }
        let (gw, proxy, admin) = try startGateway(configFile: file)
        defer { gw.signal(SIGKILL) }
        #expect(try TestClient.get(port: proxy, "/a/request").status == 200)
        #expect(try TestClient.get(port: proxy, "/b/request").status == 404)

        try config(mockPort: mockPort, path: "/b").write(to: file, atomically: true, encoding: .utf8)
        gw.signal(SIGHUP)
        #expect(gw.waitForOutput("config.generation=2"))
        #expect(try TestClient.get(port: proxy, "/b/request").status == 200)
        #expect(try TestClient.get(port: proxy, "/a/request").status == 404)

        // A broken file is rejected; the running config keeps serving.
        try "_format_version: \"3.0\"\nservices:\n  - name: [\n".write(to: file, atomically: true, encoding: .utf8)
        gw.signal(SIGHUP)
        #expect(gw.waitForOutput("configuration rejected"))
        #expect(try TestClient.get(port: proxy, "/b/request").status == 200)

        let client = try TestClient(port: admin)
        try client.send("POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        let rejected = try client.readResponse()
        #expect(rejected.status == 400)
        let errors = try #require(rejected.json?["errors"] as? [[String: Any]])
        #expect(errors.first?["line"] as? Int == 4)
        #expect(errors.first?["file"] as? String == file.path)

        try config(mockPort: mockPort, path: "/c").write(to: file, atomically: true, encoding: .utf8)
        try client.send("POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        let ok = try client.readResponse()
        #expect(ok.status == 200)
        #expect(ok.json?["generation"] as? Int == 3)
        #expect(try TestClient.get(port: proxy, "/c/request").status == 200)

        // The same bytes again: nothing to do.
        try client.send("POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        #expect(try client.readResponse().json?["message"] as? String == "configuration unchanged")
        let status = try TestClient.get(port: admin, "/status")
        #expect(status.status == 200)
        #expect((status.json?["configuration_hash"] as? String)?.count == 32)
    }

    @Test func adminAPIListsEntitiesKongStyle() throws {
        let (mock, mockPort) = try startMock()
        defer { mock.signal(SIGTERM) }
        let dir = try CommandRunner.temporaryDirectory()
        let file = dir.appendingPathComponent("kong.yaml")
        try """
        _format_version: "3.0"
        services:
          - name: my-service
            url: http://127.0.0.1:\(mockPort)
            routes:
              - name: my-route
                paths: [/a]
          - name: second
            host: example.com
        consumers:
          - username: my-user
            custom_id: c1
            keyauth_credentials:
              - key: very-secret-key
        """.write(to: file, atomically: true, encoding: .utf8)
        let (gw, _, admin) = try startGateway(configFile: file)
        defer { gw.signal(SIGKILL) }

        let services = try TestClient.get(port: admin, "/services")
        #expect(services.status == 200)
        #expect(services.header("content-type") == "application/json; charset=utf-8")
        let data = try #require(services.json?["data"] as? [[String: Any]])
        #expect(data.count == 2)
        // Kong's deterministic id for service `my-service`.
        #expect(
            try TestClient.get(port: admin, "/services/0855b320-0dd2-547d-891d-601e9b38647f").json?["name"] as? String
                == "my-service"
        )
        let route = try #require(try TestClient.get(port: admin, "/routes/my-route").json)
        #expect((route["service"] as? [String: String])?["id"] == "0855b320-0dd2-547d-891d-601e9b38647f")
        #expect(try TestClient.get(port: admin, "/routes/my-route/service").json?["name"] as? String == "my-service")

        let page1 = try #require(try TestClient.get(port: admin, "/services?size=1").json)
        #expect((page1["data"] as? [Any])?.count == 1)
        let next = try #require(page1["next"] as? String)
        let page2 = try #require(try TestClient.get(port: admin, next).json)
        #expect((page2["data"] as? [Any])?.count == 1)
        #expect(page2["next"] is NSNull)
        #expect(
            try TestClient.get(port: admin, "/services?size=abc").json?["message"] as? String == "size must be a number"
        )

        let keys = try TestClient.get(port: admin, "/consumers/my-user/key-auth")
        #expect(!keys.text.contains("very-secret-key"))
        #expect(keys.text.contains("hmac-sha256:"))
        #expect(try TestClient.get(port: admin, "/consumers?custom_id=c1").json?["data"] as? [Any] != nil)
        #expect(try TestClient.get(port: admin, "/services/nope").status == 404)

        let client = try TestClient(port: admin)
        try client.send("PATCH /services/my-service HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        let refused = try client.readResponse()
        #expect(refused.status == 405)
        #expect(
            refused.json?["message"] as? String
                == "cannot update 'services' entities by 'name' when not using a database"
        )
        try client.send("POST /consumers HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        #expect(
            try client.readResponse().json?["message"] as? String
                == "cannot create 'consumers' entities when not using a database"
        )
        #expect(try TestClient.get(port: admin, "/status/ready").status == 200)
        let config = try #require(try TestClient.get(port: admin, "/config").json?["config"] as? String)
        #expect(config.contains("_format_version"))
        #expect(!config.contains("very-secret-key"))
    }

    @Test func keysNeverReachTheLogEvenAtTrace() throws {
        let (mock, mockPort) = try startMock()
        defer { mock.signal(SIGTERM) }
        let secret = "Sekr1t-Key-4f9c2"
        let password = "Pa55-w0rd-77ab"
        let dir = try CommandRunner.temporaryDirectory()
        let file = dir.appendingPathComponent("kong.yaml")
        let valid = """
            _format_version: "3.0"
            services:
              - name: s
                url: http://127.0.0.1:\(mockPort)
                routes:
                  - name: keyed
                    paths: [/keyed]
                    plugins:
                      - name: key-auth
                        config: {key_in_body: true}
                  - name: basic
                    paths: [/basic]
                    plugins:
                      - name: basic-auth
            consumers:
              - username: alice
                keyauth_credentials:
                  - key: \(secret)
                basicauth_credentials:
                  - username: alice
                    password: \(password)
            """
        try valid.write(to: file, atomically: true, encoding: .utf8)
        let gw = try GatewayProcess(arguments: [
            "start", "--config", file.path, "--proxy-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
            "--workers", "1", "--log-level", "trace",
        ])
        defer { gw.signal(SIGKILL) }
        let proxy = try #require(gw.listeningPort("proxy"), "\(gw.stderr)")
        let admin = try #require(gw.listeningPort("admin"), "\(gw.stderr)")

        // The key in every place key-auth reads it, right and wrong, and in broken requests.
        #expect(try TestClient.get(port: proxy, "/keyed/a", headers: ["apikey": secret]).status == 200)
        #expect(try TestClient.get(port: proxy, "/keyed/a?apikey=\(secret)").status == 200)
        #expect(try TestClient.get(port: proxy, "/keyed/a?apikey=\(secret)x").status == 401)
        let twice = try TestClient.get(port: proxy, "/keyed/a", headers: ["apikey": secret, "ApiKey": secret])
        #expect(twice.status == 401)
        let basic = "Basic " + Data("alice:\(password)".utf8).base64EncodedString()
        #expect(try TestClient.get(port: proxy, "/basic", headers: ["Authorization": basic]).status == 200)
        let client = try TestClient(port: proxy)
        let form = "apikey=\(secret)"
        try client.send(
            "POST /keyed/f HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                + "Content-Length: \(form.utf8.count)\r\n\r\n\(form)"
        )
        #expect(try client.readResponse().status == 200)
        let broken = try TestClient(port: proxy)
        try broken.send(
            "GET /keyed?apikey=\(secret) HTTP/1.1\r\nHost: x\r\napikey: \(secret)\r\nBad Header\r\n\r\n"
        )
        #expect(try broken.readResponse().status == 400)

        // A reload the file refuses because of a repeated key: the error names no key.
        try (valid + "\n  - username: bob\n    keyauth_credentials:\n      - key: \(secret)\n").write(
            to: file,
            atomically: true,
            encoding: .utf8
        )
        let reload = try TestClient(port: admin)
        try reload.send("POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        let refused = try reload.readResponse()
        #expect(refused.status == 400)
        #expect(!refused.text.contains(secret))

        gw.signal(SIGTERM)
        #expect(gw.waitForExit() == 0)
        let log = gw.stderr
        #expect(log.contains("request"), "the trace log saw the requests")
        #expect(!log.contains(secret))
        #expect(!log.contains(password))
        #expect(!log.contains(Data("alice:\(password)".utf8).base64EncodedString()))
    }

    /// Background clients on keep-alive connections, counting anything but a 200 from config A or B.
    final class Load: @unchecked Sendable {
        // Safety: every field is read and written under `lock`.
        private let lock = NSLock()
        private var stopped = false
        private var failures: [String] = []
        private var served = 0
        private var threads: [Thread] = []
        /// Signalled by each client thread as it ends.
        private let finished = DispatchSemaphore(value: 0)
        private let clients: Int

        init(port: Int, clients: Int) {
            self.clients = clients
            for _ in 0..<clients {
                let thread = Thread { [self] in
                    defer { self.finished.signal() }
                    var client = try? TestClient(port: port)
                    while !self.isStopped {
                        do {
                            if client == nil { client = try TestClient(port: port) }
                            try client?.send("GET /x/r HTTP/1.1\r\nHost: x\r\n\r\n")
                            guard let r = try client?.readResponse() else { continue }
                            let path = r.json?["path"] as? String ?? ""
                            if r.status != 200 || !(path == "/A/r" || path == "/B/r") {
                                self.fail("status \(r.status) path \(path)")
                            } else {
                                self.count()
                            }
                        } catch {
                            self.fail("\(error)")
                            client = nil
                        }
                    }
                }
                self.threads.append(thread)
                thread.start()
            }
        }

        var isStopped: Bool { self.lock.withLock { self.stopped } }
        func fail(_ s: String) { self.lock.withLock { self.failures.append(s) } }
        func count() { self.lock.withLock { self.served += 1 } }
        func stop() -> (served: Int, failures: [String]) {
            self.lock.withLock { self.stopped = true }
            // Each client ends after its request in flight.
            for _ in 0..<self.clients { self.finished.wait() }
            return self.lock.withLock { (self.served, self.failures) }
        }
    }

    func postReload(admin: Int) throws -> TestClient.Response {
        let client = try TestClient(port: admin)
        try client.send("POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        return try client.readResponse()
    }

    /// Requests the gateway is answering (`GET /status`, `server.connections_writing`).
    static func writing(admin: Int) -> Int? {
        let status = try? TestClient.get(port: admin, "/status")
        return (status?.json?["server"] as? [String: Any])?["connections_writing"] as? Int
    }

    func generation(admin: Int) throws -> Int {
        try TestClient.get(port: admin, "/status").json?["configuration_generation"] as? Int ?? -1
    }

    @Test func reloadsUnderLoadLoseNoRequest() throws {
        let (mock, mockPort) = try startMock()
        defer { mock.signal(SIGTERM) }
        let dir = try CommandRunner.temporaryDirectory()
        let file = dir.appendingPathComponent("kong.yaml")
        func config(_ base: String) -> String {
            """
            _format_version: "3.0"
            services:
              - name: s
                url: http://127.0.0.1:\(mockPort)/\(base)
                routes:
                  - name: x
                    paths: [/x]
            """
        }
        try config("A").write(to: file, atomically: true, encoding: .utf8)
        let (gw, proxy, admin) = try startGateway(configFile: file)
        defer { gw.signal(SIGKILL) }
        let load = Load(port: proxy, clients: 3)
        var expectedGeneration = 1
        for i in 1...100 {
            let base = i % 2 == 1 ? "B" : "A"
            try config(base).write(to: file, atomically: true, encoding: .utf8)
            expectedGeneration += 1
            if i % 2 == 0 {
                gw.signal(SIGHUP)
                _ = try eventuallySync { try generation(admin: admin) == expectedGeneration }
            } else {
                let r = try postReload(admin: admin)
                #expect(r.status == 200)
                #expect(r.json?["generation"] as? Int == expectedGeneration)
            }
            #expect(try generation(admin: admin) == expectedGeneration)
            // The new config is in force for the next request.
            #expect(try TestClient.get(port: proxy, "/x/r").json?["path"] as? String == "/\(base)/r")
            if i % 10 == 0 {
                // A broken file: rejected with located errors, the running config keeps serving.
                try "_format_version: \"3.0\"\nservices:\n  - name: s\n    port: nope\n".write(
                    to: file,
                    atomically: true,
                    encoding: .utf8
                )
                let r = try postReload(admin: admin)
                #expect(r.status == 400)
                let errors = (r.json?["errors"] as? [[String: Any]]) ?? []
                #expect(errors.contains { $0["line"] as? Int == 4 && ($0["path"] as? String) == "services[0].port" })
                #expect(try TestClient.get(port: proxy, "/x/r").json?["path"] as? String == "/\(base)/r")
            }
        }
        let (served, failures) = load.stop()
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(served > 100)
    }

    @Test func aSlowRequestFinishesOnTheSnapshotItStartedWith() async throws {
        let (mock, mockPort, file) = try startMockWithConfig(path: "/a")
        defer { mock.signal(SIGTERM) }
        let (gw, proxy, admin) = try startGateway(configFile: file)
        defer { gw.signal(SIGKILL) }
        let slow = Task.detached { try TestClient.get(port: proxy, "/a/delay/800") }
        // The slow request is in the gateway (nginx's `writing`) before the reload.
        #expect(await eventually { Self.writing(admin: admin) == 1 })
        try config(mockPort: mockPort, path: "/b").write(to: file, atomically: true, encoding: .utf8)
        #expect(try postReload(admin: admin).status == 200)
        #expect(try TestClient.get(port: proxy, "/a/request").status == 404)
        let r = try await slow.value
        #expect(r.status == 200)
        #expect(r.json?["path"] as? String == "/delay/800")
    }

    @Test func sigtermLetsInFlightRequestsFinishAndExitsZero() async throws {
        let (mock, _, file) = try startMockWithConfig(path: "/a")
        defer { mock.signal(SIGTERM) }
        let (gw, proxy, admin) = try startGateway(configFile: file)
        defer { gw.signal(SIGKILL) }

        let slow = Task.detached { try TestClient.get(port: proxy, "/a/delay/1000") }
        #expect(await eventually { Self.writing(admin: admin) == 1 })
        gw.signal(SIGTERM)
        let response = try await slow.value
        #expect(response.status == 200)
        #expect(gw.waitForExit() == 0)
        #expect((try? TestClient(port: proxy)) == nil)
    }
}
