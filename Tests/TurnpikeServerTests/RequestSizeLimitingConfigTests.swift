import Testing
import TurnpikeModel
import TurnpikeServer

/// request-size-limiting's config checks (kong/plugins/request-size-limiting/schema.lua).
@Suite struct RequestSizeLimitingConfigTests {
    static func errors(_ config: String) -> [String] {
        let yaml = "_format_version: \"3.0\"\nplugins:\n  - name: request-size-limiting\n    config: \(config)\n"
        guard case .invalid(let errors) = ConfigLoader().compile(Array(yaml.utf8), file: "k.yaml") else { return [] }
        return errors.map(\.description)
    }

    @Test func kongsChecks() {
        #expect(Self.errors("{}") == [])
        #expect(Self.errors("{allowed_payload_size: 10, size_unit: kilobytes, require_content_length: true}") == [])
        #expect(
            Self.errors("{size_unit: gigabytes}") == [
                "k.yaml:4:25: plugins[0] (request-size-limiting).config.size_unit: expected one of: megabytes, kilobytes, bytes"
            ]
        )
        #expect(Self.errors("{allowed_payload_size: ten}").count == 1)
        #expect(Self.errors("{require_content_length: null}").count == 1)
    }
}
