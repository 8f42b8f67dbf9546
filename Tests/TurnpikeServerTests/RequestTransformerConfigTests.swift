import Testing
import TurnpikeModel
import TurnpikeServer

/// request-transformer's config checks (kong/plugins/request-transformer/schema.lua).
@Suite struct RequestTransformerConfigTests {
    static func errors(_ config: String) -> [String] {
        let yaml = "_format_version: \"3.0\"\nplugins:\n  - name: request-transformer\n    config: \(config)\n"
        guard case .invalid(let errors) = ConfigLoader().compile(Array(yaml.utf8), file: "k.yaml") else { return [] }
        return errors.map(\.description)
    }

    @Test func kongsChecks() {
        let at = "plugins[0] (request-transformer).config"
        #expect(Self.errors("{}") == [])
        #expect(
            Self.errors(
                #"{http_method: GET, add: {headers: ['x-a:$(headers["x-b"] or "none")'], querystring: ['q:1'], body: ['b:2']}, "#
                    + #"replace: {uri: '/v2/$(uri_captures.id)'}, rename: {headers: ['x-old:x-new']}}"#
            ) == []
        )
        #expect(Self.errors("{http_method: get}") == ["k.yaml:4:27: \(at).http_method: invalid value: get"])
        #expect(
            Self.errors("{add: {body: [novalue]}}") == ["k.yaml:4:27: \(at).add.body[0]: key 'novalue' has no value"]
        )
        #expect(
            Self.errors("{add: {headers: [novalue]}}") == ["k.yaml:4:30: \(at).add.headers[0]: invalid value: novalue"]
        )
        #expect(Self.errors("{remove: {headers: ['bad header']}}").count == 1)
        #expect(Self.errors("{rename: {headers: ['x-a:bad header']}}").count == 1)
        #expect(
            Self.errors("{add: {querystring: ['q:$(os.time())']}}").first?.contains(
                "value '$(os.time())' is not in supported format, error:'os.time()' is not supported by turnpike"
            ) == true
        )
    }
}
