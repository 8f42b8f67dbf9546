import TurnpikeModel

/// Kong's rate-limiting (kong/plugins/rate-limiting/handler.lua, policies/init.lua): per
/// identifier, fixed UTC windows per configured period; a request is refused when any period's
/// count has reached its limit; Kong's `X-RateLimit-*`, `RateLimit-*` and `Retry-After` headers on
/// every answer unless `hide_client_headers`.
/// - `local`: counters in a process-wide store shared by every event loop, keyed as Kong keys
///   them (the route and service the instance is attached to, the identifier, the window, the
///   period), so a reload that keeps the plugin keeps its counts; refused requests are not counted.
/// - `redis`: Kong's keys (`ratelimit:<route>:<service>:<identifier>:<window start ms>:<period>`)
///   and its usage script (count and read in one step, every request counted, refused or not), so
///   a fleet shares one limit, Kong nodes included. The access phase waits for the reply without
///   blocking its loop; Redis unreachable or slower than `redis.timeout` lets the request through
///   without headers under `fault_tolerant` and answers Kong's 500 otherwise.
public struct RateLimitingPlugin: Plugin, AccessHandler {
    public static let name = "rate-limiting"
    public static let priority = 910
    public typealias Config = RateLimitingConfig

    public let config: RateLimitingConfig
    let counters: LocalRateCounters
    /// The Redis counters of the `redis` policy (nil for `local`).
    let shared: (any SharedCounters)?
    /// The node's copies under `sync_rate` (nil when every request goes to Redis).
    let synced: SyncedRateCounters?
    /// `<route id>:<service id>` as Kong writes it in keys (zeros when not attached).
    let keyScope: String
    /// The instance's attachment (`<route id>:<service id>`, zeros when not attached), numbered
    /// by the store.
    let attachment: Int
    /// The configured periods, shortest first, and their limits.
    let periods: [RateLimitPeriod]
    let limits: [Double]
    /// The limits as their headers write them, made once.
    let limitTexts: [String]
    /// The names of the headers on a request that passes, in order (one array for every request).
    let headerNames: [String]
    public var name: String { Self.name }

    public init(config: RateLimitingConfig, stores: PluginStores) {
        self.config = config
        self.counters = stores.store("rate-limiting.local") { LocalRateCounters() }
        self.keyScope = config.scope.counterKey
        self.attachment = self.counters.attachmentNumber(self.keyScope)
        self.shared = config.policy == "redis" ? stores.sharedCounters(config.redis) : nil
        // One set of copies per Redis, as Kong keeps its tables per `db_key`.
        let redisKey = "rate-limiting.sync:\(config.redis.address):\(config.redis.hashValue)"
        self.synced =
            config.policy == "redis" && config.syncRate > 0 ? stores.store(redisKey) { SyncedRateCounters() } : nil
        self.periods = config.periods.map(\.period)
        self.limits = config.periods.map(\.limit)
        self.limitTexts = self.limits.map(LuaNumber.text)
        self.headerNames =
            self.periods.flatMap { [Self.limitHeaders[$0.rawValue], Self.remainingHeaders[$0.rawValue]] }
            + ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]
    }

    /// The identifier counted (Kong's `get_identifier`): the client's address when the chosen
    /// one is missing.
    func identifier(_ context: AccessContext) -> LocalRateCounters.Identifier {
        let request = context.request
        switch self.config.limitBy {
        case "service":
            if let id = request.serviceID { return .id(id) }
        case "consumer":
            if let consumer = context.authentication?.consumer { return .id(consumer.id) }
        case "credential":
            if let id = context.authentication?.credentialID { return .id(id) }
        case "header":
            if let name = self.config.headerName,
                let value = request.headers.lookup(name)
            {
                return .text(value)
            }
        case "path":
            // Kong compares the normalized path (`kong.request.get_path`).
            if let path = self.config.path, request.kongPath == path { return .text(path) }
        default:
            break
        }
        return .text(request.clientAddress)
    }

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        if let shared = self.shared {
            if let synced = self.synced { return self.accessSynced(shared, synced, context: &context) }
            return self.accessShared(shared, context: context)
        }
        let now = Int64(context.now)
        let limits = self.limits
        var stop: Int?
        // Kong checks every period, then counts the request only when none has reached its limit.
        let counts = self.counters.countAndAdmit(
            attachment: self.attachment,
            identifier: self.identifier(context),
            periods: self.periods,
            now: now
        ) { counts in
            stop = Self.exceeded(counts, limits: limits)
            return stop == nil
        }
        return self.decide(counts: counts, stop: stop, now: now, context: &context)
    }

    /// The last period whose count has reached its limit (Kong's `stop`), if any.
    static func exceeded(_ counts: PeriodCounts, limits: [Double]) -> Int? {
        var stop: Int?
        for i in counts.indices where limits[i] - Double(counts[i]) <= 0 { stop = i }
        return stop
    }

    /// The `redis` policy: one pipelined round trip for every period, then the same decision.
    func accessShared(_ shared: any SharedCounters, context: AccessContext) -> AccessOutcome {
        let now = Int64(context.now)
        let identifier = self.identifier(context).text
        let prefix = "ratelimit:" + self.keyScope + ":" + identifier + ":"
        let commands = self.periods.map { period in
            SharedCounterCommand.countBeforeIncrement(
                key: prefix + String(period.windowStart(at: now) * 1000) + ":" + period.name,
                expiry: period.length
            )
        }
        let pending = PendingAccess(timeout: .milliseconds(max(1, self.config.redis.timeout))) { _ in
            self.storeFailed()
        }
        shared.run(commands) { result in
            pending.resume { context in
                guard case .success(let replies) = result, replies.count == self.periods.count else {
                    return self.storeFailed()
                }
                let counts = PeriodCounts(replies)
                return self.decide(
                    counts: counts,
                    stop: Self.exceeded(counts, limits: self.limits),
                    now: now,
                    context: &context
                )
            }
        }
        return .pending(pending)
    }

    /// The `redis` policy with `sync_rate`: the node's copies answer when they can; keys without
    /// one are read (and counted) in Redis in one round trip; admitted requests are counted on the
    /// copies and synced within `sync_rate` seconds.
    func accessSynced(
        _ shared: any SharedCounters,
        _ synced: SyncedRateCounters,
        context: inout AccessContext
    ) -> AccessOutcome {
        let now = Int64(context.now)
        let prefix = "ratelimit:" + self.keyScope + ":" + self.identifier(context).text + ":"
        let keys = self.periods.map { prefix + String($0.windowStart(at: now) * 1000) + ":" + $0.name }
        let cached = synced.cached(keys, now: now)
        let missing = cached.indices.filter { cached[$0] == nil }
        guard !missing.isEmpty else {
            return self.finishSynced(cached.map { $0 ?? 0 }, keys: keys, shared, synced, now: now, context: &context)
        }
        let commands = missing.map {
            SharedCounterCommand.countBeforeIncrement(key: keys[$0], expiry: self.periods[$0].length)
        }
        let pending = PendingAccess(timeout: .milliseconds(max(1, self.config.redis.timeout))) { _ in
            self.storeFailed()
        }
        shared.run(commands) { result in
            pending.resume { context in
                guard case .success(let replies) = result, replies.count == missing.count else {
                    return self.storeFailed()
                }
                var counts = cached.map { $0 ?? 0 }
                for (j, i) in missing.enumerated() {
                    let period = self.periods[i]
                    synced.fill(keys[i], usage: replies[j], expireAt: period.windowStart(at: now) + period.length)
                    counts[i] = replies[j]
                }
                return self.finishSynced(counts, keys: keys, shared, synced, now: now, context: &context)
            }
        }
        return .pending(pending)
    }

    func finishSynced(
        _ counts: [Int64],
        keys: [String],
        _ shared: any SharedCounters,
        _ synced: SyncedRateCounters,
        now: Int64,
        context: inout AccessContext
    ) -> AccessOutcome {
        let counts = PeriodCounts(counts)
        let stop = Self.exceeded(counts, limits: self.limits)
        // Kong counts only admitted requests on the copies (a refused one's read is undone by the
        // sync: its delta stays -1).
        let ends = self.periods.map { $0.windowStart(at: now) + $0.length }
        if stop == nil, synced.increment(keys, expireAt: ends) {
            // At most a day: Kong takes any number, a timer must not overflow.
            shared.schedule(after: .milliseconds(Int64(min(self.config.syncRate, 86_400) * 1000))) {
                let deltas = synced.takeDeltas().filter { $0.delta != 0 }
                guard !deltas.isEmpty else { return }
                // Nobody waits for the sync; a failure is logged by the store (Kong drops the counts).
                shared.run(deltas.map { .addUntil(key: $0.key, amount: $0.delta, expireAt: $0.expireAt) }) { _ in }
            }
        }
        return self.decide(counts: counts, stop: stop, now: now, context: &context)
    }

    /// Redis did not answer in time (or at all): Kong lets the request through without headers
    /// under `fault_tolerant` (the store logs the failure), else fails the request with a 500.
    func storeFailed() -> AccessOutcome {
        self.config.faultTolerant
            ? .proceed : .respond(LocalResponse(status: 500, message: "An unexpected error occurred"))
    }

    /// Headers and verdict from the counts before this request, per period (Kong's `usage`).
    func decide(counts: PeriodCounts, stop: Int?, now: Int64, context: inout AccessContext) -> AccessOutcome {
        let limits = self.limits
        if self.config.hideClientHeaders {
            guard stop != nil else { return .proceed }
            return .respond(LocalResponse(status: Int(self.config.errorCode), message: self.config.errorMessage))
        }
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(2 * counts.count + 4)
        var chosen = 0
        var chosenRemaining = Double.infinity
        for i in counts.indices {
            let left = limits[i] - Double(counts[i])
            let remaining = max(0, stop == nil || stop == i ? left - 1 : left)
            // The lowest remaining names the RateLimit headers; a tie goes to the longer period.
            if remaining <= chosenRemaining {
                chosen = i
                chosenRemaining = remaining
            }
            headers.append((Self.limitHeaders[self.periods[i].rawValue], self.limitTexts[i]))
            headers.append((Self.remainingHeaders[self.periods[i].rawValue], LuaNumber.text(remaining)))
        }
        let reset = String(self.periods[chosen].reset(at: now))
        headers.append(("RateLimit-Limit", self.limitTexts[chosen]))
        // The chosen period's remaining count was written above: the same text.
        headers.append(("RateLimit-Remaining", headers[2 * chosen + 1].value))
        headers.append(("RateLimit-Reset", reset))
        if stop != nil {
            headers.append(("Retry-After", reset))
            var response = LocalResponse(status: Int(self.config.errorCode), message: self.config.errorMessage)
            response.headers = headers
            return .respond(response)
        }
        context.setResponseHeaders(headers, names: self.headerNames)
        return .proceed
    }

    static let limitHeaders = RateLimitPeriod.allCases.map { "X-RateLimit-Limit-\($0.headerName)" }
    static let remainingHeaders = RateLimitPeriod.allCases.map { "X-RateLimit-Remaining-\($0.headerName)" }
}
