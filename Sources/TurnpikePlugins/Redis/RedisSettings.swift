import TurnpikeModel

/// Where a plugin's Redis is and how to reach it: Kong's shared `redis` record
/// (kong/tools/redis/schema.lua), used by rate-limiting and response-ratelimiting with their
/// `redis` policy, with Kong's defaults. Two instances with equal settings share the connections.
public struct RedisSettings: Hashable, Sendable {
    public var host: String?
    public var port = 6379
    /// Milliseconds, for connecting and for each reply.
    public var timeout = 2000
    public var username: String?
    /// A secret: redacted wherever settings are shown.
    public var password: String?
    public var database = 0
    public var ssl = false
    public var sslVerify = false
    public var serverName: String?

    public init() {}

    /// `host:port;database` (Kong's `db_key`): for logs, never with credentials.
    public var address: String { "\(self.host ?? ""):\(self.port);\(self.database)" }

    /// The nested `redis` record.
    static func decode(_ node: ConfigNode, path: FieldPath, diagnostics: Diagnostics) -> RedisSettings? {
        guard !node.isNull else { return nil }
        guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
        var redis = RedisSettings()
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

    /// The `redis` record of a plugin's config, then the deprecated flat `redis_*` fields that
    /// exported files still carry (Kong's shorthand fields), which write into it.
    static func decode(in r: inout Record, path: FieldPath, diagnostics: Diagnostics) -> RedisSettings {
        var redis = RedisSettings()
        if let n = r.value("redis") {
            redis = Self.decode(n, path: path.appending("redis"), diagnostics: diagnostics) ?? redis
        }
        if let v = r.string("redis_host") { redis.host = v }
        if let v = r.integer("redis_port", in: 0...65535) { redis.port = v }
        if let v = r.string("redis_password", allowEmpty: true) { redis.password = v }
        if let v = r.string("redis_username") { redis.username = v }
        if let v = r.bool("redis_ssl") { redis.ssl = v }
        if let v = r.bool("redis_ssl_verify") { redis.sslVerify = v }
        if let v = r.string("redis_server_name") { redis.serverName = v }
        if let v = r.integer("redis_timeout", in: 0...2_147_483_646) { redis.timeout = v }
        if let v = r.integer("redis_database") { redis.database = v }
        return redis
    }

    /// Every field in Kong's order; the password redacted.
    func rendered() -> Rendered {
        .object([
            ("database", .integer(self.database)),
            ("host", .optional(self.host)),
            ("password", self.password == nil ? .null : .string(Rendered.redacted)),
            ("port", .integer(self.port)),
            ("server_name", .optional(self.serverName)),
            ("ssl", .bool(self.ssl)),
            ("ssl_verify", .bool(self.sslVerify)),
            ("timeout", .integer(self.timeout)),
            ("username", .optional(self.username)),
        ])
    }
}
