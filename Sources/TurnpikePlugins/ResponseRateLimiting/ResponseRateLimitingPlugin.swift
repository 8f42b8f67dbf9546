import TurnpikeModel

/// Kong's response-ratelimiting (kong/plugins/response-ratelimiting/): the upstream says what a
/// response costs (`X-Kong-Limit: videos=1, images=2`) and the gateway counts it per identifier
/// in fixed UTC windows, per named limit.
/// - access: reads the counts; `X-RateLimit-Remaining-<limit>` goes upstream (the tightest
///   period); with `block_on_first_violation` a limit with nothing left answers 429 at once.
/// - response: the cost header is read and removed; `X-RateLimit-Limit-<limit>-<period>` and
///   `X-RateLimit-Remaining-<limit>-<period>` go to the client; a response that costs a limit
///   already used up becomes a 429 without a body (Kong's `kong.response.exit(429)`).
/// - log: the costs are added, in every period's window (Kong counts all six, configured or not).
/// `local` keeps the counts in the node's shared tables, `redis` in Redis under Kong's keys
/// (`response-ratelimit:<route>:<service>:<identifier>:<window start ms>:<limit>:<period>`).
public struct ResponseRateLimitingPlugin: Plugin, AccessHandler, ResponseHandler, LogPhaseHandler {
    public static let name = "response-ratelimiting"
    public static let priority = 900
    public typealias Config = ResponseRateLimitingConfig

    public let config: ResponseRateLimitingConfig
    let counters: LocalRateCounters
    let shared: (any SharedCounters)?
    let keyScope: String
    /// Per limit, its number in the local store (the attachment and the limit's name).
    let attachments: [Int]
    public var name: String { Self.name }

    public init(config: ResponseRateLimitingConfig, stores: PluginStores) {
        self.config = config
        self.counters = stores.store("response-ratelimiting.local") { LocalRateCounters() }
        self.keyScope = config.scope.counterKey
        self.attachments = config.limits.map { [counters, keyScope] in
            counters.attachmentNumber(keyScope + ":" + $0.name)
        }
        self.shared = config.policy == "redis" ? stores.sharedCounters(config.redis) : nil
    }

    /// Kong's `get_identifier`: the consumer (or credential) id, else the client's address.
    func identifier(_ context: AccessContext) -> LocalRateCounters.Identifier {
        switch self.config.limitBy {
        case "consumer":
            if let consumer = context.authentication?.consumer { return .id(consumer.id) }
        case "credential":
            if let id = context.authentication?.credentialID { return .id(id) }
        default:
            break
        }
        return .text(context.request.clientAddress)
    }

    func redisKey(_ identifier: String, limit: String, period: RateLimitPeriod, now: Int64) -> String {
        "response-ratelimit:" + self.keyScope + ":" + identifier + ":" + String(period.windowStart(at: now) * 1000)
            + ":" + limit + ":" + period.name
    }

    // MARK: access

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        let now = Int64(context.now)
        let identifier = self.identifier(context)
        guard let shared = self.shared else {
            var usage: [Int64] = []
            for (i, limit) in self.config.limits.enumerated() {
                for period in limit.periods {
                    usage.append(
                        self.counters.count(
                            .init(
                                attachment: self.attachments[i],
                                identifier: identifier,
                                period: period,
                                windowStart: period.windowStart(at: now)
                            )
                        )
                    )
                }
            }
            return self.decide(usage: usage, identifier: identifier, now: now, context: &context)
        }
        let text = identifier.text
        var commands: [SharedCounterCommand] = []
        for limit in self.config.limits {
            for period in limit.periods {
                commands.append(.get(key: self.redisKey(text, limit: limit.name, period: period, now: now)))
            }
        }
        let pending = PendingAccess(timeout: .milliseconds(max(1, self.config.redis.timeout))) { _ in
            self.storeFailed()
        }
        let expected = commands.count
        shared.run(commands) { result in
            pending.resume { context in
                guard case .success(let usage) = result, usage.count == expected else { return self.storeFailed() }
                return self.decide(usage: usage, identifier: identifier, now: now, context: &context)
            }
        }
        return .pending(pending)
    }

    /// Kong: without usage the request goes on (and nothing is counted), or fails with a 500.
    func storeFailed() -> AccessOutcome {
        self.config.faultTolerant
            ? .proceed : .respond(LocalResponse(status: 500, message: "An unexpected error occurred"))
    }

    /// `usage`: the counts per limit and period, in config order.
    func decide(
        usage: [Int64],
        identifier: LocalRateCounters.Identifier,
        now: Int64,
        context: inout AccessContext
    ) -> AccessOutcome {
        var remaining: [Double] = []
        remaining.reserveCapacity(usage.count)
        var i = 0
        for limit in self.config.limits {
            var tightest = Double.infinity
            for value in limit.values {
                let left = value - Double(usage[i])
                i += 1
                // Kong's check is `== 0`: a count already past the limit does not block here.
                if self.config.blockOnFirstViolation && left == 0 {
                    return .respond(LocalResponse(status: 429, message: "API rate limit exceeded for '\(limit.name)'"))
                }
                tightest = min(tightest, left)
                remaining.append(left)
            }
            context.edits.setHeader("X-RateLimit-Remaining-" + limit.name, LuaNumber.text(tightest))
        }
        context.plugins[plugin: Self.name]["state"] = State(identifier: identifier, now: now, remaining: remaining)
        return .proceed
    }

    /// What access leaves for the later phases (Kong's `kong.ctx.plugin`).
    struct State: Sendable {
        var identifier: LocalRateCounters.Identifier
        var now: Int64
        /// Per limit and period, in config order.
        var remaining: [Double]
        /// Per limit: what the response costs (nil: not said, or not a number).
        var increments: [Int64?] = []
        var stop = false
    }

    // MARK: response

    public func response(_ context: inout ResponseContext) {
        guard var state = context.plugins.value("state", of: Self.name, as: State.self) else { return }
        state.increments = self.increments(context.headers.values(self.config.headerName))
        var stop = false
        var headers: [(name: String, value: String)] = []
        var i = 0
        for (l, limit) in self.config.limits.enumerated() {
            let increment = state.increments[l]
            for (p, period) in limit.periods.enumerated() {
                let left = state.remaining[i]
                i += 1
                if !self.config.hideClientHeaders {
                    let suffix = "-" + limit.name + "-" + period.name
                    headers.append(("X-RateLimit-Limit" + suffix, LuaNumber.text(limit.values[p])))
                    headers.append(
                        (
                            "X-RateLimit-Remaining" + suffix,
                            LuaNumber.text(max(0, left - Double(increment ?? 0)))
                        )
                    )
                }
                if let increment, increment > 0, left <= 0 { stop = true }
            }
        }
        for (name, value) in headers { context.setHeader(name, value) }
        context.setHeader(self.config.headerName, nil)
        state.stop = stop
        context.plugins[plugin: Self.name]["state"] = state
        if stop { context.exit(status: 429) }
    }

    /// Kong's `parse_header`: `name=value` pairs split on commas (every line of the header), names
    /// of configured limits only, values as base-10 integers (anything else counts as not said).
    func increments(_ lines: [String]) -> [Int64?] {
        var out = [Int64?](repeating: nil, count: self.config.limits.count)
        for line in lines {
            for part in line.split(separator: ",", omittingEmptySubsequences: false) {
                let pieces = part.split(separator: "=", omittingEmptySubsequences: false)
                guard pieces.count == 2 else { continue }
                let name = pieces[0].kongStripped
                guard let index = self.config.limits.firstIndex(where: { $0.name == name }) else { continue }
                out[index] = Int64(pieces[1].kongStripped)
            }
        }
        return out
    }

    // MARK: log

    public func log(_ entry: LogEntry) {
        guard let state = entry.plugins.value("state", of: Self.name, as: State.self), !state.stop,
            !state.increments.isEmpty
        else { return }
        let text = self.shared == nil ? "" : state.identifier.text
        var commands: [SharedCounterCommand] = []
        for (l, limit) in self.config.limits.enumerated() {
            guard let increment = state.increments[l], increment != 0 else { continue }
            for period in RateLimitPeriod.allCases {
                if self.shared != nil {
                    commands.append(
                        .add(
                            key: self.redisKey(text, limit: limit.name, period: period, now: state.now),
                            amount: increment,
                            expiry: period.length
                        )
                    )
                } else {
                    self.counters.add(
                        increment,
                        to: .init(
                            attachment: self.attachments[l],
                            identifier: state.identifier,
                            period: period,
                            windowStart: period.windowStart(at: state.now)
                        ),
                        now: state.now
                    )
                }
            }
        }
        // Nobody waits for the adds (Kong's log timer): a failure is logged by the store.
        if let shared = self.shared, !commands.isEmpty { shared.run(commands) { _ in } }
    }
}
