public import TurnpikeModel

/// rate-limiting's config (kong/plugins/rate-limiting/schema.lua, kong/tools/redis/schema.lua),
/// every field with Kong's default, check and message. The deprecated flat `redis_*` fields that
/// exported files still carry are read into `redis`.
public struct RateLimitingConfig: ScopeKeepingPluginConfig, Equatable {
    /// The limits per period (Kong's numbers: fractions allowed), at least one.
    public var limits: [RateLimitPeriod: Double] = [:]
    public var limitBy = "consumer"
    public var headerName: String?
    public var path: String?
    public var policy = "local"
    public var faultTolerant = true
    public var hideClientHeaders = false
    public var errorCode: Double = 429
    public var errorMessage = "API rate limit exceeded"
    public var syncRate: Double = -1
    public var redis = RedisSettings()
    /// The route and service the instance is attached to (its counters' key, as Kong's); not
    /// part of the config's text.
    public var scope = PluginScope()

    public init() {}

    static let limitBys = ["consumer", "credential", "ip", "service", "header", "path"]

    /// The configured periods, shortest first.
    public var periods: [(period: RateLimitPeriod, limit: Double)] {
        RateLimitPeriod.allCases.compactMap { p in self.limits[p].map { (p, $0) } }
    }

    public func rendered() -> Rendered {
        func number(_ d: Double?) -> Rendered { d.map(LuaNumber.rendered) ?? .null }
        return .object([
            ("day", number(self.limits[.day])),
            ("error_code", number(self.errorCode)),
            ("error_message", .string(self.errorMessage)),
            ("fault_tolerant", .bool(self.faultTolerant)),
            ("header_name", .optional(self.headerName)),
            ("hide_client_headers", .bool(self.hideClientHeaders)),
            ("hour", number(self.limits[.hour])),
            ("limit_by", .string(self.limitBy)),
            ("minute", number(self.limits[.minute])),
            ("month", number(self.limits[.month])),
            ("path", .optional(self.path)),
            ("policy", .string(self.policy)),
            ("redis", self.redis.rendered()),
            ("second", number(self.limits[.second])),
            ("sync_rate", number(self.syncRate)),
            ("year", number(self.limits[.year])),
        ])
    }

    public static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    ) -> RateLimitingConfig? {
        var config = RateLimitingConfig()
        let before = diagnostics.errors.count
        let place = node?.location ?? location
        if let node {
            guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
            for (period, limit) in RateLimitPeriod.decodeLimits(in: &r) { config.limits[period] = limit }
            if let v = r.oneOf("limit_by", Self.limitBys) { config.limitBy = v }
            if let n = r.value("header_name"),
                let h = Record.string(n, path: r.fieldPath("header_name"), diagnostics: diagnostics)
            {
                if let message = Validators.headerName(h) {
                    r.error(message, key: "header_name", node: n)
                } else {
                    config.headerName = h
                }
            }
            if let n = r.value("path"), let p = Record.string(n, path: r.fieldPath("path"), diagnostics: diagnostics) {
                if let message = Validators.path(p) { r.error(message, key: "path", node: n) } else { config.path = p }
            }
            // DB-less Kong offers local and redis only (`cluster` needs a database to count in).
            if let p = r.oneOf("policy", ["local", "redis"]) { config.policy = p }
            if let v = r.bool("fault_tolerant") { config.faultTolerant = v }
            if let v = r.bool("hide_client_headers") { config.hideClientHeaders = v }
            if let n = r.value("error_code") {
                if let v = n.number, v > 0, v < 1000 {
                    config.errorCode = v
                } else if let v = n.number, v >= 1000 {
                    // Stricter than Kong, which takes any positive number: a status has three digits.
                    r.error("value should be between 1 and 999", key: "error_code", node: n)
                } else {
                    r.error(
                        n.number == nil ? "expected a number" : "value must be greater than 0",
                        key: "error_code",
                        node: n
                    )
                }
            }
            if let v = r.string("error_message", allowEmpty: true) { config.errorMessage = v }
            if let n = r.value("sync_rate") {
                if let v = n.number {
                    config.syncRate = v
                } else {
                    r.error("expected a number", key: "sync_rate", node: n)
                }
            }
            for required in ["fault_tolerant", "hide_client_headers", "sync_rate"] where r.isNull(required) {
                r.error("required field missing", key: required)
            }
            config.redis = RedisSettings.decode(in: &r, path: path, diagnostics: diagnostics)
            r.finish()
        }
        guard diagnostics.errors.count == before else { return nil }
        // Kong's entity checks, in its order.
        let fields = RateLimitPeriod.allCases.map { "'config.\($0.name)'" }.joined(separator: ", ")
        var problem: String?
        if config.limits.isEmpty {
            problem = "at least one of these fields must be non-empty: \(fields)"
        } else if config.limitBy == "header" && config.headerName == nil {
            problem = "failed conditional validation given value of field 'config.limit_by'"
            diagnostics.add("required field missing", at: place, path: path.appending("header_name").text)
        } else if config.limitBy == "path" && config.path == nil {
            problem = "failed conditional validation given value of field 'config.limit_by'"
            diagnostics.add("required field missing", at: place, path: path.appending("path").text)
        } else if config.policy == "redis" && config.redis.host == nil {
            problem = "failed conditional validation given value of field 'config.policy'"
            diagnostics.add("required field missing", at: place, path: path.appending("redis").appending("host").text)
        } else if let order = RateLimitPeriod.orderProblem(config.periods, capitalized: true) {
            problem = order
        } else if config.policy != "redis" && config.syncRate != -1 {
            problem = "sync_rate can only be used with the redis policy"
        } else if config.policy == "redis" && config.syncRate != -1 && config.syncRate < 0.02 {
            problem = "sync_rate must be greater than 0.02, or -1 to disable"
        }
        if let problem { diagnostics.add(problem, at: place, path: path.text) }
        return diagnostics.errors.count == before ? config : nil
    }
}
