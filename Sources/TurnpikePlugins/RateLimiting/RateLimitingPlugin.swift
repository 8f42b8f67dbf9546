public import TurnpikeModel

/// Kong's rate-limiting with the `local` policy (kong/plugins/rate-limiting/handler.lua,
/// policies/init.lua): per identifier, fixed UTC windows per configured period; a request is
/// refused when any period's count has reached its limit (refused requests are not counted);
/// Kong's `X-RateLimit-*`, `RateLimit-*` and `Retry-After` headers on every answer unless
/// `hide_client_headers`. Counters live in a process-wide store shared by every event loop, keyed
/// as Kong keys them (the route and service the instance is attached to, the identifier, the
/// window, the period), so a reload that keeps the plugin keeps its counts.
public struct RateLimitingPlugin: Plugin, AccessHandler, ResponseHandler {
    public static let name = "rate-limiting"
    public static let priority = 910
    public typealias Config = RateLimitingConfig

    public let config: RateLimitingConfig
    let counters: LocalRateCounters
    /// `<route id>:<service id>` of the instance's attachment (zeros when not attached).
    let attachment: String
    public var name: String { Self.name }

    public init(config: RateLimitingConfig, stores: PluginStores) {
        self.config = config
        self.counters = stores.store("rate-limiting.local") { LocalRateCounters() }
        self.attachment =
            (config.scope.route ?? .zero).description + ":" + (config.scope.service ?? .zero).description
    }

    /// The identifier counted (Kong's `get_identifier`): the client's address when the chosen
    /// one is missing.
    func identifier(_ context: AccessContext) -> String {
        let request = context.request
        var identifier: String?
        switch self.config.limitBy {
        case "service": identifier = request.serviceID?.description
        case "consumer":
            identifier = context.authentication.map { $0.consumer.id.description }
        case "credential": identifier = context.authentication?.credentialID?.description
        case "header":
            if let name = self.config.headerName {
                identifier = request.headers.first { Self.headerMatches($0.name, name) }?.value
            }
        case "path":
            if let path = self.config.path, request.path == path { identifier = path }
        default: break
        }
        return identifier ?? request.clientAddress
    }

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        let now = Int64(context.now)
        let identifier = self.identifier(context)
        var usage: [(period: RateLimitPeriod, limit: Double, remaining: Double, key: LocalRateCounters.Key)] = []
        var stop: RateLimitPeriod?
        for (period, limit) in self.config.periods {
            let key = LocalRateCounters.Key(
                instance: self.attachment,
                identifier: identifier,
                period: period,
                windowStart: period.windowStart(at: now)
            )
            let remaining = limit - Double(self.counters.count(key))
            if remaining <= 0 { stop = period }
            usage.append((period, limit, remaining, key))
        }
        var headers: [(name: String, value: String)] = []
        var reset: Int64 = 1
        if !self.config.hideClientHeaders {
            var chosen: (limit: Double, remaining: Double, period: RateLimitPeriod)?
            for u in usage {
                let remaining = max(0, stop == nil || stop == u.period ? u.remaining - 1 : u.remaining)
                if chosen == nil || remaining < chosen!.remaining
                    || (remaining == chosen!.remaining && u.period.length > chosen!.period.length)
                {
                    chosen = (u.limit, remaining, u.period)
                }
                headers.append(("X-RateLimit-Limit-\(u.period.headerName)", Self.number(u.limit)))
                headers.append(("X-RateLimit-Remaining-\(u.period.headerName)", Self.number(remaining)))
            }
            if let chosen {
                reset = chosen.period.reset(at: now)
                headers.append(("RateLimit-Limit", Self.number(chosen.limit)))
                headers.append(("RateLimit-Remaining", Self.number(chosen.remaining)))
                headers.append(("RateLimit-Reset", String(reset)))
            }
        }
        if stop != nil {
            if !self.config.hideClientHeaders { headers.append(("Retry-After", String(reset))) }
            var response = LocalResponse(status: Int(self.config.errorCode), message: self.config.errorMessage)
            response.headers = headers
            return .respond(response)
        }
        for u in usage { self.counters.add(1, to: u.key, now: now) }
        if !headers.isEmpty { context.plugins[plugin: Self.name]["headers"] = headers }
        return .proceed
    }

    /// The headers go on the response (Kong applies them in the access phase, nginx sends them).
    public func response(_ context: inout ResponseContext) {
        guard let headers = context.plugins.value("headers", of: Self.name, as: [(name: String, value: String)].self)
        else { return }
        for (name, value) in headers { context.setHeader(name, value) }
    }

    /// Lua's `tostring` of a number: no decimals for whole numbers.
    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }

    static func headerMatches(_ header: String, _ name: String) -> Bool {
        RequestTerminationPlugin.headerMatches(header, name)
    }
}

extension RateLimitingPlugin {
    /// The config's own checks; the scope is kept by the registry's `make`.
    public static func decode(
        _ config: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        scope: PluginScope,
        diagnostics: Diagnostics
    ) -> RateLimitingConfig? {
        guard var decoded = RateLimitingConfig.decode(config, at: location, path: path, diagnostics: diagnostics) else {
            return nil
        }
        decoded.scope = scope
        return decoded
    }
}
