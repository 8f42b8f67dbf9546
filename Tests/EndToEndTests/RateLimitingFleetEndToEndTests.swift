import Foundation
import NIOCore
import NIOPosix
import Testing
import TurnpikeRedis
import TurnpikeServer
import TurnpikeTestSupport

/// rate-limiting's `redis` policy across a fleet: three gateways on loopback read the same file
/// and count in one `redis-server`, so a limit holds for the fleet; Redis going away mid-test
/// lets requests through (`fault_tolerant: true`) or fails them (false), and its return
/// restores the limit. The keys are Kong's, so Kong nodes could count in the same Redis.
@Suite(.serialized) struct RateLimitingFleetEndToEndTests {
    static func config(redisPort: Int) -> String {
        """
        _format_version: "3.0"
        services:
          - name: mock
            url: http://{{MOCK}}
            routes:
              - name: tolerant
                id: 0d4ad0b4-9d3e-4e59-9a63-63a4b3c1e7a1
                paths: [/tolerant]
                plugins:
                  - name: rate-limiting
                    config:
                      day: 5
                      limit_by: ip
                      policy: redis
                      redis: {host: 127.0.0.1, port: \(redisPort), timeout: 500}
              - name: strict
                paths: [/strict]
                plugins:
                  - name: rate-limiting
                    config:
                      day: 5
                      policy: redis
                      fault_tolerant: false
                      redis_host: 127.0.0.1
                      redis_port: \(redisPort)
                      redis_timeout: 500
        """
    }

    @Test func threeGatewaysOneLimitThenRedisAwayAndBack() async throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let yaml = Self.config(redisPort: redis.port)
        var gateways: [TestGateway] = []
        do {
            for _ in 0..<3 { gateways.append(try await TestGateway.start(yaml: yaml)) }
            try await Self.fleet(gateways, redis: redis)
        } catch {
            for gw in gateways { await gw.stop() }
            throw error
        }
        for gw in gateways { await gw.stop() }
    }

    static func fleet(_ gateways: [TestGateway], redis: RedisServer) async throws {

        // Round-robin over the fleet: one count.
        for (i, expected) in [4, 3, 2, 1, 0].enumerated() {
            let r = try TestClient.get(port: gateways[i % 3].proxyPort, "/tolerant/request")
            #expect(r.status == 200)
            #expect(r.header("x-ratelimit-limit-day") == "5")
            #expect(r.header("x-ratelimit-remaining-day") == "\(expected)")
        }
        for gw in gateways {
            let refused = try TestClient.get(port: gw.proxyPort, "/tolerant/request")
            #expect(refused.status == 429)
            #expect(refused.header("retry-after") != nil)
        }

        // Kong's key: route, service (none here: zeros), identifier, window start in ms, period.
        let direct = try await RedisConnection.connect(
            .init(host: "127.0.0.1", port: redis.port),
            on: MultiThreadedEventLoopGroup.singleton.next()
        ).get()
        let keys = try await direct.send(["KEYS", "ratelimit:0d4ad0b4*"]).get()
        direct.close()
        let now = Int64(Date().timeIntervalSince1970)
        let dayStart = (now - now % 86_400) * 1000
        guard case .array(let list?) = keys, list.count == 1, let key = list[0].string else {
            Issue.record("expected one key, got \(keys)")
            return
        }
        #expect(
            key == "ratelimit:0d4ad0b4-9d3e-4e59-9a63-63a4b3c1e7a1:00000000-0000-0000-0000-000000000000:"
                + "127.0.0.1:\(dayStart):day"
        )

        // Redis goes away: fault_tolerant lets requests through without headers; strict fails.
        redis.kill()
        for gw in gateways {
            let r = try TestClient.get(port: gw.proxyPort, "/tolerant/request")
            #expect(r.status == 200)
            #expect(r.header("x-ratelimit-remaining-day") == nil)
            let strict = try TestClient.get(
                port: gw.proxyPort,
                "/strict/request",
                headers: ["Accept": "application/json"]
            )
            #expect(strict.status == 500)
            #expect(strict.json?["message"] as? String == "An unexpected error occurred")
        }

        // Back (empty, as after a crash): counting resumes on every node.
        try redis.restart()
        var seen: [String?] = []
        for gw in gateways {
            // Each loop reconnects on its own, once its retry delay (250 ms) is over.
            var last: TestClient.Response?
            let back = try await eventually {
                last = try TestClient.get(port: gw.proxyPort, "/strict/request")
                return last?.status == 200
            }
            #expect(back)
            seen.append(last?.header("x-ratelimit-remaining-day"))
        }
        #expect(seen == ["4", "3", "2"])
    }

    /// `sync_rate`: a node counts on its own copy and pushes its counts within `sync_rate`.
    @Test func syncRatePushesTheNodesCounts() async throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let yaml = """
            _format_version: "3.0"
            services:
              - name: mock
                url: http://{{MOCK}}
                routes:
                  - name: synced
                    id: 6c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5
                    paths: [/synced]
                    plugins:
                      - name: rate-limiting
                        config:
                          day: 100
                          limit_by: ip
                          policy: redis
                          sync_rate: 0.1
                          redis: {host: 127.0.0.1, port: \(redis.port)}
            """
        try await TestGateway.with(yaml: yaml) { gw in
            for expected in [99, 98, 97] {
                let r = try TestClient.get(port: gw.proxyPort, "/synced/request")
                #expect(r.status == 200)
                // Kong's copy: the count before the read, then this node's requests since.
                let remaining = Int(r.header("x-ratelimit-remaining-day") ?? "") ?? 0
                #expect(remaining >= expected - 1)
            }
            let direct = try await RedisConnection.connect(
                .init(host: "127.0.0.1", port: redis.port),
                on: MultiThreadedEventLoopGroup.singleton.next()
            ).get()
            defer { direct.close() }
            // Within the sync (0.1 s) Redis holds the node's three requests.
            let synced = try await eventually {
                let keys = try await direct.send(["KEYS", "ratelimit:6c1d2e3f*"]).get()
                guard case .array(let list?) = keys, let key = list.first?.string else { return false }
                return try await direct.send(["GET", key]).get().integer == 3
            }
            #expect(synced)
        }
    }
}
