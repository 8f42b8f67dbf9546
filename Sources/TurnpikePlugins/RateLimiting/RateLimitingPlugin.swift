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
    /// The instance's attachment (`<route id>:<service id>`, zeros when not attached), numbered
    /// by the store.
    let attachment: Int
    /// The configured periods, shortest first, and their limits.
    let periods: [RateLimitPeriod]
    let limits: [Double]
    public var name: String { Self.name }

    public init(config: RateLimitingConfig, stores: PluginStores) {
        self.config = config
        self.counters = stores.store("rate-limiting.local") { LocalRateCounters() }
        self.attachment = self.counters.attachmentNumber(
            (config.scope.route ?? .zero).description + ":" + (config.scope.service ?? .zero).description
        )
        self.periods = config.periods.map(\.period)
        self.limits = config.periods.map(\.limit)
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
                let value = request.headers.first(where: { HeaderName.lookupEqual($0.name, name) })?.value
            {
                return .text(value)
            }
        case "path":
            if let path = self.config.path, request.path == path { return .text(path) }
        default:
            break
        }
        return .text(request.clientAddress)
    }

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
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
            for i in counts.indices where limits[i] - Double(counts[i]) <= 0 { stop = i }
            return stop == nil
        }
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
            headers.append((Self.limitHeaders[self.periods[i].rawValue], Self.number(limits[i])))
            headers.append((Self.remainingHeaders[self.periods[i].rawValue], Self.number(remaining)))
        }
        let reset = String(self.periods[chosen].reset(at: now))
        headers.append(("RateLimit-Limit", Self.number(limits[chosen])))
        headers.append(("RateLimit-Remaining", Self.number(chosenRemaining)))
        headers.append(("RateLimit-Reset", reset))
        if stop != nil {
            headers.append(("Retry-After", reset))
            var response = LocalResponse(status: Int(self.config.errorCode), message: self.config.errorMessage)
            response.headers = headers
            return .respond(response)
        }
        context.plugins[plugin: Self.name]["headers"] = headers
        return .proceed
    }

    static let limitHeaders = RateLimitPeriod.allCases.map { "X-RateLimit-Limit-\($0.headerName)" }
    static let remainingHeaders = RateLimitPeriod.allCases.map { "X-RateLimit-Remaining-\($0.headerName)" }

    /// The headers go on the response (Kong applies them in the access phase, nginx sends them).
    public func response(_ context: inout ResponseContext) {
        guard let headers = context.plugins.value("headers", of: Self.name, as: [(name: String, value: String)].self)
        else { return }
        context.setHeaders(headers)
    }

    /// Lua's `tostring` of a number: no decimals for whole numbers.
    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
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
