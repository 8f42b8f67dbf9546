import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing
import TurnpikePlugins
import TurnpikeRedis
import TurnpikeTestSupport

@testable import TurnpikeServer

/// The `redis` policies' store against a real `redis-server`: Kong's scripts, the keys' expiry,
/// one connection per loop, failing fast while Redis is away and reconnecting when it is back.
@Suite(.serialized) struct RedisSharedCountersTests {
    static let loop = MultiThreadedEventLoopGroup.singleton.next()

    static func run(
        _ counters: RedisSharedCounters,
        _ commands: [SharedCounterCommand]
    ) async -> Result<
        [Int64], SharedCountersFailure
    > {
        await withCheckedContinuation { continuation in
            Self.loop.execute {
                counters.run(commands) { result in
                    // Replies arrive on the loop that asked.
                    precondition(Self.loop.inEventLoop)
                    continuation.resume(returning: result)
                }
            }
        }
    }

    static func counters(port: Int, configure: (inout RedisSettings) -> Void = { _ in }) -> RedisSharedCounters {
        var settings = RedisSettings()
        settings.host = "127.0.0.1"
        settings.port = port
        settings.timeout = 1000
        configure(&settings)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return RedisSharedCounters(settings: settings, logger: logger)
    }

    @Test func kongsUsageScriptCountsAndExpires() async throws {
        let server = try RedisServer(password: "pw")
        defer { server.stop() }
        let counters = Self.counters(port: server.port) {
            $0.password = "pw"
            $0.database = 3
        }
        let commands: [SharedCounterCommand] = [
            .countBeforeIncrement(key: "ratelimit:a:minute", expiry: 60),
            .countBeforeIncrement(key: "ratelimit:a:day", expiry: 86_400),
        ]
        for expected: Int64 in [0, 1, 2] {
            #expect(try await Self.run(counters, commands).get() == [expected, expected])
        }
        #expect(
            try await Self.run(counters, [.add(key: "rrl:x", amount: 5, expiry: 60), .get(key: "rrl:x")]).get() == [
                5, 5,
            ]
        )
        #expect(
            try await Self.run(counters, [.add(key: "rrl:x", amount: 2, expiry: 60), .get(key: "nope")]).get() == [
                7, 0,
            ]
        )
        // What a Kong node would find in the same Redis: the keys in database 3, with their TTLs.
        let direct = try await RedisConnection.connect(
            .init(host: "127.0.0.1", port: server.port, password: "pw", database: 3),
            on: Self.loop
        ).get()
        defer { direct.close() }
        let replies = try await direct.send([
            ["GET", "ratelimit:a:minute"], ["TTL", "ratelimit:a:minute"], ["TTL", "ratelimit:a:day"], ["TTL", "rrl:x"],
        ]).get()
        #expect(replies[0].integer == 3)
        // Set and bounded by each period's length (no timing assumed: a loaded machine is slow).
        #expect((1...60).contains(replies[1].integer ?? 0))
        #expect((61...86_400).contains(replies[2].integer ?? 0))
        #expect((1...60).contains(replies[3].integer ?? 0))
    }

    @Test func syncAddsExpireAtTheWindowsEndAndTimersFire() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        let counters = Self.counters(port: server.port)
        let end = Int64(Date().timeIntervalSince1970) + 100
        #expect(try await Self.run(counters, [.addUntil(key: "s", amount: 3, expireAt: end)]).get() == [3])
        #expect(try await Self.run(counters, [.addUntil(key: "s", amount: -1, expireAt: end + 500)]).get() == [2])
        let direct = try await RedisConnection.connect(.init(host: "127.0.0.1", port: server.port), on: Self.loop)
            .get()
        defer { direct.close() }
        // The first add set the expiry; the second did not move it.
        #expect((1...100).contains(try await direct.send(["TTL", "s"]).get().integer ?? 0))
        let fired: Void = await withCheckedContinuation { continuation in
            Self.loop.execute {
                counters.schedule(after: .milliseconds(20)) {
                    precondition(Self.loop.inEventLoop)
                    continuation.resume()
                }
            }
        }
        _ = fired
    }

    @Test func redisAwayFailsFastThenRecovers() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        let counters = Self.counters(port: server.port)
        let command: [SharedCounterCommand] = [.countBeforeIncrement(key: "k", expiry: 60)]
        #expect(try await Self.run(counters, command).get() == [0])
        server.kill()
        // The broken connection fails what it carries; a new connect is refused.
        for _ in 0..<3 {
            guard case .failure = await Self.run(counters, command) else {
                Issue.record("a count with Redis away succeeded")
                return
            }
        }
        try server.restart()
        // Back (empty: the kill lost its data) within the retry delay.
        var result: Result<[Int64], SharedCountersFailure> = .failure(SharedCountersFailure("not yet"))
        let back = await eventually {
            result = await Self.run(counters, command)
            return (try? result.get()) != nil
        }
        #expect(back)
        #expect(try result.get() == [0])
    }

    @Test func scriptsFlushedAreLoadedAgainOnANewConnection() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        let counters = Self.counters(port: server.port)
        let command: [SharedCounterCommand] = [.countBeforeIncrement(key: "f", expiry: 60)]
        #expect(try await Self.run(counters, command).get() == [0])
        let direct = try await RedisConnection.connect(.init(host: "127.0.0.1", port: server.port), on: Self.loop)
            .get()
        defer { direct.close() }
        _ = try await direct.send(["SCRIPT", "FLUSH"]).get()
        // That request fails (NOSCRIPT) and drops the connection; the next one reconnects.
        guard case .failure = await Self.run(counters, command) else {
            Issue.record("EVALSHA succeeded after SCRIPT FLUSH")
            return
        }
        #expect(try await Self.run(counters, command).get() == [1])
    }

    /// Settings no snapshot uses any more let their store go: its connections close.
    @Test func aReleasedStoreClosesItsConnections() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        var counters: RedisSharedCounters? = Self.counters(port: server.port)
        #expect(try await Self.run(counters!, [.get(key: "k")]).get() == [0])
        let direct = try await RedisConnection.connect(.init(host: "127.0.0.1", port: server.port), on: Self.loop)
            .get()
        defer { direct.close() }
        func clients() async throws -> Int {
            let list = try await direct.send(["CLIENT", "LIST"]).get().string ?? ""
            return list.split(separator: "\n").count
        }
        #expect(try await clients() == 2)
        counters = nil
        #expect(try await eventually { try await clients() == 1 })
    }

    @Test func wrongPasswordIsAFailureNotACrash() async throws {
        let server = try RedisServer(password: "right")
        defer { server.stop() }
        let counters = Self.counters(port: server.port) { $0.password = "wrong" }
        guard case .failure(let failure) = await Self.run(counters, [.get(key: "k")]) else {
            Issue.record("a wrong password counted")
            return
        }
        #expect(!failure.description.contains("wrong"))
    }

    @Test func overTLS() async throws {
        let pair = try TestCertificates.mockAuthority.issue(["localhost"])
        let server: RedisServer
        do {
            server = try RedisServer(tls: (pair.certificatePEM, pair.keyPEM))
        } catch {
            // Debian's redis-server is built with TLS; a build without it cannot serve this test.
            Issue.record("redis-server with TLS did not start: \(error)")
            return
        }
        defer { server.stop() }
        let counters = Self.counters(port: server.port) { $0.ssl = true }
        #expect(try await Self.run(counters, [.countBeforeIncrement(key: "t", expiry: 5)]).get() == [0])
        // ssl_verify against the system's trust store: the test authority is not in it.
        let verifying = Self.counters(port: server.port) {
            $0.ssl = true
            $0.sslVerify = true
            $0.serverName = "localhost"
        }
        guard case .failure = await Self.run(verifying, [.get(key: "t")]) else {
            Issue.record("an untrusted certificate was accepted")
            return
        }
    }
}
