import Testing
import TurnpikeModel
import TurnpikeServer

/// proxy-cache's config checks (kong/plugins/proxy-cache/schema.lua).
@Suite struct ProxyCacheConfigTests {
    static func errors(_ config: String?) -> [String] {
        var yaml = "_format_version: \"3.0\"\nplugins:\n  - name: proxy-cache\n"
        if let config { yaml += "    config: \(config)\n" }
        guard case .invalid(let errors) = ConfigLoader().compile(Array(yaml.utf8), file: "k.yaml") else { return [] }
        return errors.map(\.description)
    }

    @Test func kongsChecks() {
        let at = "plugins[0] (proxy-cache).config"
        #expect(Self.errors("{strategy: memory}") == [])
        #expect(
            Self.errors(
                "{strategy: memory, response_code: [200], request_method: [GET, POST], cache_ttl: 10, storage_ttl: 60, "
                    + "cache_control: true, vary_headers: [x-tenant], vary_query_params: [page], memory: {dictionary_name: d}, "
                    + "response_headers: {age: false, X-Cache-Status: true, X-Cache-Key: false}}"
            ) == []
        )
        #expect(Self.errors(nil) == ["k.yaml:3:5: \(at).strategy: required field missing"])
        #expect(Self.errors("{cache_ttl: 10}") == ["k.yaml:4:13: \(at).strategy: required field missing"])
        #expect(Self.errors("{strategy: redis}").count == 1)
        #expect(
            Self.errors("{strategy: memory, response_code: []}") == [
                "k.yaml:4:47: \(at).response_code: length must be at least 1"
            ]
        )
        #expect(Self.errors("{strategy: memory, response_code: [99]}").count == 1)
        #expect(Self.errors("{strategy: memory, request_method: [DELETE]}").count == 1)
        #expect(Self.errors("{strategy: memory, cache_ttl: 0}").count == 1)
    }
}
