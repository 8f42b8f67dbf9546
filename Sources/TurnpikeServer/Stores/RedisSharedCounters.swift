import Crypto
public import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
public import TurnpikePlugins
import TurnpikeRedis

/// The `redis` policies' counters: one Redis connection per event loop (made on first use, on
/// that loop), shared by every request of the loop with its commands pipelined; Redis answers in
/// order and is single-threaded, so one connection per loop keeps the loop's requests in one
/// stream without a pool to balance. Requests never hop loops and never wait on a lock.
/// Failures are logged once per `logInterval` (a Redis outage would otherwise log every request).
public final class RedisSharedCounters: SharedCounters {
    let settings: RedisSettings
    let configuration: RedisConnection.Configuration?
    let setupProblem: String?
    let connections = ThreadSpecificVariable<LoopConnection>()
    /// Every loop's connection, to close them when no snapshot uses these settings any more.
    private let opened = Mutex<[LoopConnection]>([])
    let logger: Logger
    let logInterval: Duration
    private let lastLogged = Mutex<ContinuousClock.Instant?>(nil)

    /// Kong's usage script: count and read in one step; a key the count creates gets its expiry.
    static let countScript = Script(
        "local n = redis.call('incr', KEYS[1]) if n == 1 then redis.call('expire', KEYS[1], ARGV[1]) end return n - 1"
    )
    /// response-ratelimiting's increment: add, and give a key the add creates its expiry.
    static let addScript = Script(
        "local e = redis.call('exists', KEYS[1]) local n = redis.call('incrby', KEYS[1], ARGV[1]) "
            + "if e == 0 then redis.call('expire', KEYS[1], ARGV[2]) end return n"
    )
    /// rate-limiting's sync: add, and give a key the add creates its window's end.
    static let addUntilScript = Script(
        "local e = redis.call('exists', KEYS[1]) local n = redis.call('incrby', KEYS[1], ARGV[1]) "
            + "if e == 0 then redis.call('expireat', KEYS[1], ARGV[2]) end return n"
    )
    /// A counter's value, 0 when missing (`GET` would answer a null bulk string).
    static let getScript = Script("return tonumber(redis.call('get', KEYS[1]) or 0)")

    /// A Lua script, loaded on each new connection (`SCRIPT LOAD`) and run by its SHA-1
    /// (`EVALSHA`): 40 bytes per command instead of the script's text.
    struct Script {
        let text: String
        let sha: String

        init(_ text: String) {
            self.text = text
            self.sha = Insecure.SHA1.hash(data: Array(text.utf8)).map { byte in
                let hex = String(byte, radix: 16)
                return byte < 16 ? "0" + hex : hex
            }.joined()
        }
    }

    public init(settings: RedisSettings, logger: Logger, logInterval: Duration = .seconds(10)) {
        self.settings = settings
        self.logger = logger
        self.logInterval = logInterval
        var tls: NIOSSLContext?
        var problem: String?
        if settings.ssl {
            var c = TLSConfiguration.makeClientConfiguration()
            c.minimumTLSVersion = .tlsv12
            // Kong's `ssl_verify` (off by default): the system's trust store, and the name when
            // `server_name` gives one.
            c.certificateVerification =
                settings.sslVerify ? (settings.serverName == nil ? .noHostnameVerification : .fullVerification) : .none
            do {
                tls = try NIOSSLContext(configuration: c)
            } catch {
                problem = "redis: TLS setup failed: \(error)"
            }
        }
        if let host = settings.host, problem == nil {
            var configuration = RedisConnection.Configuration(
                host: host,
                port: settings.port,
                tls: tls,
                serverName: settings.serverName,
                username: settings.username,
                password: settings.password,
                database: settings.database,
                timeout: .milliseconds(Int64(max(1, settings.timeout)))
            )
            configuration.setup = [Self.countScript, Self.addScript, Self.addUntilScript, Self.getScript].map {
                ["SCRIPT", "LOAD", $0.text]
            }
            self.configuration = configuration
        } else {
            self.configuration = nil
        }
        self.setupProblem = problem ?? (settings.host == nil ? "redis: no host" : nil)
    }

    /// The last snapshot using these settings is gone (the plugin stores hold them weakly): each
    /// loop's connection is closed on its loop.
    deinit {
        for local in self.opened.withLock({ $0 }) {
            local.loop.execute { local.state.value.connection?.close() }
        }
    }

    public func run(
        _ commands: [SharedCounterCommand],
        completion: @escaping @Sendable (Result<[Int64], SharedCountersFailure>) -> Void
    ) {
        guard let configuration = self.configuration, let loop = MultiThreadedEventLoopGroup.currentEventLoop else {
            self.fail(SharedCountersFailure(self.setupProblem ?? "redis: not called on an event loop"), completion)
            return
        }
        let local: LoopConnection
        if let existing = self.connections.currentValue, existing.loop === loop {
            local = existing
        } else {
            local = LoopConnection(loop: loop, configuration: configuration)
            self.connections.currentValue = local
            self.opened.withLock { $0.append(local) }
        }
        let encoded = commands.map(Self.encode)
        local.withConnection { connection in
            guard let connection else {
                self.fail(SharedCountersFailure(local.lastError), completion)
                return
            }
            connection.send(encoded) { result in
                switch result {
                case .success(let replies):
                    var counts: [Int64] = []
                    counts.reserveCapacity(replies.count)
                    for reply in replies {
                        guard let n = reply.integer else {
                            let text = if case .error(let message) = reply { message } else { "unexpected reply" }
                            // Scripts flushed (SCRIPT FLUSH): a new connection loads them again.
                            if text.hasPrefix("NOSCRIPT") { connection.close() }
                            self.fail(SharedCountersFailure("redis: \(text)"), completion)
                            return
                        }
                        counts.append(n)
                    }
                    completion(.success(counts))
                case .failure(let error):
                    self.fail(SharedCountersFailure("\(error)"), completion)
                }
            }
        }
    }

    public func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else { return }
        loop.scheduleTask(in: TimeAmount(clamping: delay)) { body() }
    }

    static func encode(_ command: SharedCounterCommand) -> [String] {
        switch command {
        case .countBeforeIncrement(let key, let expiry):
            return ["EVALSHA", Self.countScript.sha, "1", key, String(expiry)]
        case .add(let key, let amount, let expiry):
            return ["EVALSHA", Self.addScript.sha, "1", key, String(amount), String(expiry)]
        case .get(let key):
            return ["EVALSHA", Self.getScript.sha, "1", key]
        case .addUntil(let key, let amount, let expireAt):
            return ["EVALSHA", Self.addUntilScript.sha, "1", key, String(amount), String(expireAt)]
        }
    }

    private func fail(
        _ failure: SharedCountersFailure,
        _ completion: @Sendable (Result<[Int64], SharedCountersFailure>) -> Void
    ) {
        let now = ContinuousClock.now
        let due = self.lastLogged.withLock { last in
            guard last.map({ now - $0 >= self.logInterval }) ?? true else { return false }
            last = now
            return true
        }
        if due {
            self.logger.error(
                "redis unavailable: requests use the plugins' fault_tolerant setting",
                metadata: ["redis.address": "\(self.settings.address)", "error": "\(failure.description)"]
            )
        }
        completion(.failure(failure))
    }
}

/// One loop's connection to one Redis: made on first use, remade after it breaks. While Redis is
/// unreachable, a failed connect is not retried for `retryDelay`: requests fail at once instead of
/// each waiting for its own connect timeout. Touched only on `loop` (the box checks it).
final class LoopConnection: Sendable {
    struct State {
        var connection: RedisConnection?
        /// Requests waiting for the connect in progress (nil: none in progress).
        var waiting: [(RedisConnection?) -> Void]?
        var retryAfter: NIODeadline = .uptimeNanoseconds(0)
        var lastError = "redis: unreachable"
    }

    let loop: any EventLoop
    let configuration: RedisConnection.Configuration
    let state: NIOLoopBoundBox<State>
    static let retryDelay = TimeAmount.milliseconds(250)

    init(loop: any EventLoop, configuration: RedisConnection.Configuration) {
        self.loop = loop
        self.configuration = configuration
        self.state = NIOLoopBoundBox(State(), eventLoop: loop)
    }

    /// Why the last connect failed (no credentials in it).
    var lastError: String { self.state.value.lastError }

    /// Calls `body` with the open connection (nil when Redis cannot be reached now), at once when
    /// one is open, else when the connect in progress (or started here) ends.
    func withConnection(_ body: @escaping (RedisConnection?) -> Void) {
        if let open = self.state.value.connection, open.isOpen {
            body(open)
            return
        }
        if self.state.value.waiting != nil {
            self.state.value.waiting!.append(body)
            return
        }
        guard NIODeadline.now() >= self.state.value.retryAfter else {
            body(nil)
            return
        }
        self.state.value.connection = nil
        self.state.value.waiting = [body]
        RedisConnection.connect(self.configuration, on: self.loop).whenComplete { result in
            let waiting = self.state.value.waiting ?? []
            self.state.value.waiting = nil
            switch result {
            case .success(let connection):
                self.state.value.connection = connection
                for body in waiting { body(connection) }
            case .failure(let error):
                self.state.value.retryAfter = NIODeadline.now() + Self.retryDelay
                self.state.value.lastError = "\(error)"
                for body in waiting { body(nil) }
            }
        }
    }
}

/// Makes `RedisSharedCounters` for the plugins (handed to `PluginStores`).
public struct RedisSharedCountersProvider: SharedCountersProvider {
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func counters(for settings: RedisSettings) -> any SharedCounters {
        RedisSharedCounters(settings: settings, logger: self.logger)
    }
}
