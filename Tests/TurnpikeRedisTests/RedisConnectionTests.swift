import NIOCore
import NIOPosix
import Testing
import TurnpikeRedis
import TurnpikeTestSupport

/// The client against a real `redis-server` (started by the test, on a port of its own).
@Suite(.serialized) struct RedisConnectionTests {
    static let loop = MultiThreadedEventLoopGroup.singleton.next()

    @Test func pipelinedCommandsGetTheirRepliesInOrder() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        let redis = try await RedisConnection.connect(.init(host: "127.0.0.1", port: server.port), on: Self.loop).get()
        defer { redis.close() }
        let replies = try await redis.send([
            ["INCRBY", "rl:k", "3"], ["EXPIRE", "rl:k", "60"], ["INCRBY", "rl:k", "2"], ["GET", "rl:k"],
            ["GET", "missing"],
            ["LPUSH", "rl:k", "x"],
        ]).get()
        #expect(replies[0] == .integer(3))
        #expect(replies[1] == .integer(1))
        #expect(replies[2] == .integer(5))
        #expect(replies[3].integer == 5)
        #expect(replies[4] == .bulkString(nil))
        // A command Redis refuses is a reply, not a failure.
        guard case .error(let message) = replies[5] else {
            Issue.record("expected an error reply, got \(replies[5])")
            return
        }
        #expect(message.hasPrefix("WRONGTYPE"))
        // Commands from another thread go through the connection's loop.
        let ttl = try await redis.send(["TTL", "rl:k"]).get()
        #expect((1...60).contains(ttl.integer ?? 0))
    }

    @Test func authAndDatabaseSelection() async throws {
        let server = try RedisServer(password: "s3cret")
        defer { server.stop() }
        let bad = RedisConnection.connect(.init(host: "127.0.0.1", port: server.port, password: "wrong"), on: Self.loop)
        do {
            _ = try await bad.get()
            Issue.record("a wrong password connected")
        } catch {
            #expect("\(error)".contains("WRONGPASS") || "\(error)".contains("invalid password"), "\(error)")
            #expect(!"\(error)".contains("wrong\""))
        }
        let redis = try await RedisConnection.connect(
            .init(host: "127.0.0.1", port: server.port, password: "s3cret", database: 3),
            on: Self.loop
        ).get()
        defer { redis.close() }
        _ = try await redis.send(["SET", "where", "db3"]).get()
        let other = try await RedisConnection.connect(
            .init(host: "127.0.0.1", port: server.port, password: "s3cret"),
            on: Self.loop
        ).get()
        defer { other.close() }
        #expect(try await other.send(["GET", "where"]).get() == .bulkString(nil))
        #expect(try await redis.send(["GET", "where"]).get().string == "db3")
    }

    @Test func aServerThatGoesAwayFailsWhatIsInFlightAndWhatComesAfter() async throws {
        let server = try RedisServer()
        let redis = try await RedisConnection.connect(.init(host: "127.0.0.1", port: server.port), on: Self.loop).get()
        #expect(try await redis.send(["PING"]).get() == .simpleString("PONG"))
        server.stop()
        // No reply can come any more: the command fails (on the close, or at the latest by its
        // timeout), and the connection counts as closed.
        await #expect(throws: RedisConnection.Failure.self) {
            _ = try await redis.send(["PING"]).get()
        }
        #expect(!redis.isOpen)
    }

    @Test func aLateReplyIsATimeout() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        let redis = try await RedisConnection.connect(
            .init(host: "127.0.0.1", port: server.port, timeout: .milliseconds(200)),
            on: Self.loop
        ).get()
        // Redis answers BLPOP on an empty list only after its own 2 s timeout.
        await #expect(throws: RedisConnection.Failure(description: "redis: timeout")) {
            _ = try await redis.send(["BLPOP", "empty", "2"]).get()
        }
    }

    @Test func nothingListening() async {
        await #expect(throws: (any Error).self) {
            _ = try await RedisConnection.connect(.init(host: "127.0.0.1", port: 1), on: Self.loop).get()
        }
    }
}
