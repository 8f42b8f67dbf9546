import Testing
import TurnpikeModel
import TurnpikeServer

/// response-ratelimiting's config checks with Kong's messages
/// (kong/plugins/response-ratelimiting/schema.lua).
@Suite struct ResponseRateLimitingConfigTests {
    static func errors(_ config: String?) -> [String] {
        var yaml = "_format_version: \"3.0\"\nplugins:\n  - name: response-ratelimiting\n"
        if let config { yaml += "    config: \(config)\n" }
        switch ConfigLoader().compile(Array(yaml.utf8), file: "k.yaml") {
        case .valid: return []
        case .invalid(let errors): return errors.map(\.description)
        case .unreadable(let message): return [message]
        }
    }

    @Test func kongsChecks() {
        let at = "k.yaml:4:13: plugins[0] (response-ratelimiting).config"
        #expect(Self.errors("{limits: {videos: {minute: 10, hour: 100}, images: {second: 1}}}") == [])
        #expect(
            Self.errors("{limits: {v: {minute: 1}}, policy: redis, redis_host: r.local, redis_password: x}") == []
        )
        #expect(
            Self.errors(nil) == ["k.yaml:3:5: plugins[0] (response-ratelimiting).config.limits: required field missing"]
        )
        #expect(Self.errors("{limit_by: ip}") == ["\(at).limits: required field missing"])
        #expect(
            Self.errors("{limits: {}}") == [
                "k.yaml:4:22: plugins[0] (response-ratelimiting).config.limits: length must be at least 1"
            ]
        )
        #expect(
            Self.errors("{limits: {videos: {}}}") == [
                "k.yaml:4:31: plugins[0] (response-ratelimiting).config.limits.videos: at least one of these fields "
                    + "must be non-empty: 'second', 'minute', 'hour', 'day', 'month', 'year'"
            ]
        )
        #expect(
            Self.errors("{limits: {videos: {minute: 10, hour: 5}}}") == [
                "k.yaml:4:31: plugins[0] (response-ratelimiting).config.limits.videos: the limit for hour(5.0) "
                    + "cannot be lower than the limit for minute(10.0)"
            ]
        )
        #expect(Self.errors("{limits: {v: {minute: 1}}, policy: cluster}").count == 1)
        #expect(Self.errors("{limits: {v: {minute: 1}}, limit_by: header}").count == 1)
        #expect(
            Self.errors("{limits: {v: {minute: 1}}, policy: redis}").contains(
                "\(at): failed conditional validation given value of field 'config.policy'"
            )
        )
    }
}
