import Testing
import TurnpikeModel
import TurnpikeServer

/// response-transformer's config checks (kong/plugins/response-transformer/schema.lua).
@Suite struct ResponseTransformerConfigTests {
    static func errors(_ config: String) -> [String] {
        let yaml = "_format_version: \"3.0\"\nplugins:\n  - name: response-transformer\n    config: \(config)\n"
        guard case .invalid(let errors) = ConfigLoader().compile(Array(yaml.utf8), file: "k.yaml") else { return [] }
        return errors.map(\.description)
    }

    @Test func kongsChecks() {
        #expect(Self.errors("{}") == [])
        #expect(
            Self.errors("{add: {json: ['a:1'], json_types: [number], headers: ['x-a:1']}, remove: {json: [b]}}") == []
        )
        #expect(
            Self.errors("{add: {json: [novalue]}}") == [
                "k.yaml:4:27: plugins[0] (response-transformer).config.add.json[0]: invalid value: novalue"
            ]
        )
        #expect(Self.errors("{rename: {headers: ['bad header:x']}}").count == 1)
        #expect(Self.errors("{rename: {headers: ['x:bad header']}}").count == 1)
        #expect(Self.errors("{add: {json_types: [date]}}").count == 1)
        #expect(Self.errors("{remove: {cookies: [a]}}").count == 1)
    }
}
