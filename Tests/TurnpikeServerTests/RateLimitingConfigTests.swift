import Testing
import TurnpikeModel
import TurnpikeServer

/// rate-limiting's config checks with Kong's messages (kong/plugins/rate-limiting/schema.lua).
@Suite struct RateLimitingConfigTests {
    static func errors(_ config: String) -> [String] {
        let yaml = "_format_version: \"3.0\"\nplugins:\n  - name: rate-limiting\n    config: \(config)\n"
        switch ConfigLoader().compile(Array(yaml.utf8), file: "k.yaml") {
        case .valid: return []
        case .invalid(let errors): return errors.map(\.description)
        case .unreadable(let message): return [message]
        }
    }

    @Test func kongsChecks() {
        let at = "k.yaml:4:13: plugins[0] (rate-limiting).config"
        #expect(Self.errors("{minute: 6, hour: 100, limit_by: ip, redis_host: r.local}") == [])
        #expect(
            Self.errors("{policy: local}") == [
                "\(at): at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'"
            ]
        )
        #expect(
            Self.errors("{minute: 20, hour: 10}") == [
                "\(at): The limit for hour(10.0) cannot be lower than the limit for minute(20.0)"
            ]
        )
        #expect(Self.errors("{minute: 1, sync_rate: 1}") == ["\(at): sync_rate can only be used with the redis policy"])
        #expect(
            Self.errors("{minute: 1, limit_by: header}").contains(
                "\(at): failed conditional validation given value of field 'config.limit_by'"
            )
        )
        #expect(Self.errors("{minute: 1, policy: cluster}").count == 1)
        #expect(
            Self.errors("{minute: 1, error_code: 1e20}") == [
                "k.yaml:4:37: plugins[0] (rate-limiting).config.error_code: value should be between 1 and 999"
            ]
        )
        #expect(Self.errors("{minute: 1e300}") == [])
        #expect(
            Self.errors("{minute: 0}") == [
                "k.yaml:4:22: plugins[0] (rate-limiting).config.minute: value must be greater than 0"
            ]
        )
        #expect(Self.errors("{minute: 1, policy: redis, redis: {host: r.local, password: s3cret}}") == [])
        #expect(Self.errors("{minute: 1, policy: redis, redis_host: r.local, sync_rate: -1}") == [])
        #expect(Self.errors("{minute: 1, policy: redis, redis_host: r.local, sync_rate: 10}") == [])
        #expect(
            Self.errors("{minute: 1, policy: redis, redis_host: r.local, sync_rate: 0.01}") == [
                "\(at): sync_rate must be greater than 0.02, or -1 to disable"
            ]
        )
    }
}
