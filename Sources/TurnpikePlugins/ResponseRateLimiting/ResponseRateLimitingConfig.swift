public import TurnpikeModel

/// response-ratelimiting's config (kong/plugins/response-ratelimiting/schema.lua): named limits,
/// each with one or more periods, counted by what the upstream reports in `header_name`. Every
/// field with Kong's default and check; the flat `redis_*` fields are read into `redis`.
public struct ResponseRateLimitingConfig: ScopeKeepingPluginConfig, Equatable {
    /// One named limit (`limits.<name>`) and its periods, shortest first.
    public struct Limit: Equatable, Sendable {
        public var name: String
        public var periods: [RateLimitPeriod]
        public var values: [Double]
    }

    public var headerName = "x-kong-limit"
    public var limitBy = "consumer"
    public var policy = "local"
    public var faultTolerant = true
    public var redis = RedisSettings()
    public var blockOnFirstViolation = false
    public var hideClientHeaders = false
    /// By name (Kong iterates a Lua table; sorted here so answers do not depend on hashing).
    public var limits: [Limit] = []
    /// Where the instance is attached (its counters' keys); not part of the config's text.
    public var scope = PluginScope()

    public init() {}

    public func rendered() -> Rendered {
        .object([
            ("block_on_first_violation", .bool(self.blockOnFirstViolation)),
            ("fault_tolerant", .bool(self.faultTolerant)),
            ("header_name", .string(self.headerName)),
            ("hide_client_headers", .bool(self.hideClientHeaders)),
            ("limit_by", .string(self.limitBy)),
            (
                "limits",
                .object(
                    self.limits.map { limit in
                        (
                            limit.name,
                            .object(
                                RateLimitPeriod.allCases.map { period in
                                    let value = limit.periods.firstIndex(of: period).map { limit.values[$0] }
                                    return (
                                        period.name,
                                        value.map(LuaNumber.rendered) ?? .null
                                    )
                                }
                            )
                        )
                    }
                )
            ),
            ("policy", .string(self.policy)),
            ("redis", self.redis.rendered()),
        ])
    }

    public static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    ) -> ResponseRateLimitingConfig? {
        var config = ResponseRateLimitingConfig()
        let before = diagnostics.errors.count
        let place = node?.location ?? location
        guard let node else {
            diagnostics.add("required field missing", at: place, path: path.appending("limits").text)
            return nil
        }
        guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
        if let v = r.string("header_name") { config.headerName = v }
        if let v = r.oneOf("limit_by", ["consumer", "credential", "ip"]) { config.limitBy = v }
        // DB-less Kong offers local and redis only.
        if let v = r.oneOf("policy", ["local", "redis"]) { config.policy = v }
        if let v = r.bool("fault_tolerant") { config.faultTolerant = v }
        if let v = r.bool("block_on_first_violation") { config.blockOnFirstViolation = v }
        if let v = r.bool("hide_client_headers") { config.hideClientHeaders = v }
        for required in ["fault_tolerant", "block_on_first_violation", "hide_client_headers"] where r.isNull(required) {
            r.error("required field missing", key: required)
        }
        config.redis = RedisSettings.decode(in: &r, path: path, diagnostics: diagnostics)
        if let n = r.value("limits", required: true) {
            config.limits = Self.decodeLimits(n, path: path.appending("limits"), diagnostics: diagnostics)
        }
        r.finish()
        if diagnostics.errors.count == before && config.policy == "redis" && config.redis.host == nil {
            diagnostics.add(
                "failed conditional validation given value of field 'config.policy'",
                at: place,
                path: path.text
            )
            diagnostics.add("required field missing", at: place, path: path.appending("redis").appending("host").text)
        }
        return diagnostics.errors.count == before ? config : nil
    }

    static func decodeLimits(_ node: ConfigNode, path: FieldPath, diagnostics: Diagnostics) -> [Limit] {
        guard let entries = node.mapping else {
            diagnostics.add("expected a map", at: node.location, path: path.text)
            return []
        }
        guard !entries.isEmpty else {
            diagnostics.add("length must be at least 1", at: node.location, path: path.text)
            return []
        }
        var limits: [Limit] = []
        for entry in entries {
            let name = entry.name
            let at = path.appending(name)
            guard var r = Record(entry.value, path: at, diagnostics: diagnostics) else { continue }
            let decoded = RateLimitPeriod.decodeLimits(in: &r)
            r.finish()
            if decoded.isEmpty {
                let fields = RateLimitPeriod.allCases.map { "'\($0.name)'" }.joined(separator: ", ")
                diagnostics.add(
                    "at least one of these fields must be non-empty: \(fields)",
                    at: entry.value.location,
                    path: at.text
                )
                continue
            }
            if let problem = RateLimitPeriod.orderProblem(decoded, capitalized: false) {
                diagnostics.add(problem, at: entry.value.location, path: at.text)
                continue
            }
            let limit = Limit(name: name, periods: decoded.map(\.period), values: decoded.map(\.limit))
            limits.append(limit)
        }
        return limits.sorted { $0.name < $1.name }
    }
}
