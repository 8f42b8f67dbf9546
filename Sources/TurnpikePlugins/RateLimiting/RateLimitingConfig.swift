public import TurnpikeModel

/// rate-limiting's config (kong/plugins/rate-limiting/schema.lua, kong/tools/redis/schema.lua),
/// every field with Kong's default, check and message. The deprecated flat `redis_*` fields that
/// exported files still carry are read into `redis`.
public struct RateLimitingConfig: ScopeFreePluginConfig, Equatable {
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
    public var redis = Redis()
    /// The route and service the instance is attached to (its counters' key, as Kong's); not
    /// part of the config's text.
    public var scope = PluginScope()

    public struct Redis: Equatable, Sendable {
        public var host: String?
        public var port = 6379
        public var timeout = 2000
        public var username: String?
        public var password: String?
        public var database = 0
        public var ssl = false
        public var sslVerify = false
        public var serverName: String?
    }

    public init() {}

    static let limitBys = ["consumer", "credential", "ip", "service", "header", "path"]

    /// The configured periods, shortest first.
    public var periods: [(period: RateLimitPeriod, limit: Double)] {
        RateLimitPeriod.allCases.compactMap { p in self.limits[p].map { (p, $0) } }
    }

    public func rendered() -> Rendered {
        func number(_ d: Double?) -> Rendered {
            d.map { d in d == d.rounded() ? .integer(Int(d)) : .number(d) } ?? .null
        }
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
            (
                "redis",
                .object([
                    ("database", .integer(self.redis.database)),
                    ("host", .optional(self.redis.host)),
                    // A secret: never shown (render, admin API, /config).
                    ("password", self.redis.password == nil ? .null : .string(Rendered.redacted)),
                    ("port", .integer(self.redis.port)),
                    ("server_name", .optional(self.redis.serverName)),
                    ("ssl", .bool(self.redis.ssl)),
                    ("ssl_verify", .bool(self.redis.sslVerify)),
                    ("timeout", .integer(self.redis.timeout)),
                    ("username", .optional(self.redis.username)),
                ])
            ),
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
            for period in RateLimitPeriod.allCases {
                guard let n = r.value(period.name) else { continue }
                guard let v = n.number else {
                    r.error("expected a number", key: period.name, node: n)
                    continue
                }
                guard v > 0 else {
                    r.error("value must be greater than 0", key: period.name, node: n)
                    continue
                }
                config.limits[period] = v
            }
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
            if let n = r.value("policy"),
                let p = Record.string(n, path: r.fieldPath("policy"), diagnostics: diagnostics)
            {
                if p == "cluster" {
                    // DB-less Kong's own answer (there is no database to count in).
                    r.error("expected one of: local, redis", key: "policy", node: n)
                } else if p != "local" && p != "redis" {
                    r.error("expected one of: local, redis", key: "policy", node: n)
                } else {
                    config.policy = p
                }
            }
            if let v = r.bool("fault_tolerant") { config.faultTolerant = v }
            if let v = r.bool("hide_client_headers") { config.hideClientHeaders = v }
            if let n = r.value("error_code") {
                if let v = n.number, v > 0 {
                    config.errorCode = v
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
            if let n = r.value("redis") {
                config.redis =
                    Self.decodeRedis(n, path: path.appending("redis"), diagnostics: diagnostics) ?? config.redis
            }
            // The deprecated flat fields (Kong's shorthand_fields), onto `redis`.
            if let v = r.string("redis_host") { config.redis.host = v }
            if let v = r.integer("redis_port", in: 0...65535) { config.redis.port = v }
            if let v = r.string("redis_password", allowEmpty: true) { config.redis.password = v }
            if let v = r.string("redis_username") { config.redis.username = v }
            if let v = r.bool("redis_ssl") { config.redis.ssl = v }
            if let v = r.bool("redis_ssl_verify") { config.redis.sslVerify = v }
            if let v = r.string("redis_server_name") { config.redis.serverName = v }
            if let v = r.integer("redis_timeout", in: 0...2_147_483_646) { config.redis.timeout = v }
            if let v = r.integer("redis_database") { config.redis.database = v }
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
        } else if let order = Self.orderProblem(config) {
            problem = order
        } else if config.policy != "redis" && config.syncRate != -1 {
            problem = "sync_rate can only be used with the redis policy"
        } else if config.policy == "redis" && config.syncRate != -1 && config.syncRate < 0.02 {
            problem = "sync_rate must be greater than 0.02, or -1 to disable"
        }
        if let problem { diagnostics.add(problem, at: place, path: path.text) }
        if diagnostics.errors.count == before && config.policy == "redis" {
            diagnostics.add(
                "policy 'redis' is not supported by turnpike yet (supported: local)",
                at: place,
                path: path.appending("policy").text
            )
        }
        return diagnostics.errors.count == before ? config : nil
    }

    /// Kong's `validate_periods_order`: a longer period may not allow fewer requests.
    static func orderProblem(_ config: RateLimitingConfig) -> String? {
        let periods = config.periods
        for (i, lower) in periods.enumerated() {
            for upper in periods[(i + 1)...] where upper.limit < lower.limit {
                return
                    "The limit for \(upper.period.name)(\(Self.oneDecimal(upper.limit))) cannot be lower than the limit for "
                    + "\(lower.period.name)(\(Self.oneDecimal(lower.limit)))"
            }
        }
        return nil
    }

    /// Lua's `%.1f`.
    static func oneDecimal(_ v: Double) -> String {
        let tenths = (v * 10).rounded()
        let whole = Int(tenths / 10)
        let decimal = Int(abs(tenths.truncatingRemainder(dividingBy: 10)))
        return "\(whole).\(decimal)"
    }

    static func decodeRedis(_ node: ConfigNode, path: FieldPath, diagnostics: Diagnostics) -> Redis? {
        guard !node.isNull else { return nil }
        guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
        var redis = Redis()
        redis.host = r.string("host")
        if let v = r.integer("port", in: 0...65535) { redis.port = v }
        if let v = r.integer("timeout", in: 0...2_147_483_646) { redis.timeout = v }
        redis.username = r.string("username")
        redis.password = r.string("password", allowEmpty: true)
        if let v = r.integer("database") { redis.database = v }
        if let v = r.bool("ssl") { redis.ssl = v }
        if let v = r.bool("ssl_verify") { redis.sslVerify = v }
        redis.serverName = r.string("server_name")
        r.finish()
        return redis
    }
}
