import Testing
import TurnpikeModel
import TurnpikeServer

/// cors's config checks (kong/plugins/cors/schema.lua).
@Suite struct CORSConfigTests {
    static func errors(_ config: String, consumer: Bool = false) -> [String] {
        var yaml = "_format_version: \"3.0\"\n"
        if consumer { yaml += "consumers: [{username: c}]\n" }
        yaml += "plugins:\n  - name: cors\n    config: \(config)\n"
        if consumer { yaml += "    consumer: c\n" }
        guard case .invalid(let errors) = ConfigLoader().compile(Array(yaml.utf8), file: "k.yaml") else { return [] }
        return errors.map(\.description)
    }

    @Test func kongsChecks() {
        #expect(Self.errors("{}") == [])
        #expect(
            Self.errors("{origins: ['*', 'http://a.test', '(.*)\\\\.b\\\\.test'], methods: [GET], max_age: 3600}") == []
        )
        #expect(
            Self.errors("{origins: ['(bad']}") == [
                "k.yaml:4:24: plugins[0] (cors).config.origins[0]: '(bad' is not a valid regex"
            ]
        )
        #expect(Self.errors("{methods: [FETCH]}").count == 1)
        #expect(Self.errors("{credentials: null}").count == 1)
        #expect(Self.errors("{}", consumer: true).contains { $0.hasSuffix("consumer: value must be null") })
    }
}
