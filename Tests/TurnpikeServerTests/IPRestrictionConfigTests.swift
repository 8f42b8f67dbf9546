import Testing
import TurnpikeModel
import TurnpikeServer

/// ip-restriction's config checks, as `validate` reports them (kong/plugins/ip-restriction/schema.lua).
@Suite struct IPRestrictionConfigTests {
    static func errors(_ config: String) -> [String] {
        let yaml = "_format_version: \"3.0\"\nplugins:\n  - name: ip-restriction\n    config: \(config)\n"
        switch ConfigLoader().compile(Array(yaml.utf8), file: "k.yaml") {
        case .valid: return []
        case .invalid(let errors): return errors.map(\.description)
        case .unreadable(let message): return [message]
        }
    }

    @Test func kongsChecks() {
        #expect(
            Self.errors("{allow: [10.0.0.0/8, \"::1\"], deny: [10.1.0.0/16], status: 401, message: \"go away\"}") == []
        )
        #expect(
            Self.errors("{status: 403}") == [
                "k.yaml:4:13: plugins[0] (ip-restriction).config: at least one of these fields must be non-empty: 'config.allow', 'config.deny'"
            ]
        )
        #expect(
            Self.errors("{allow: [10.0.0.0/99, ok]}") == [
                "k.yaml:4:22: plugins[0] (ip-restriction).config.allow[0]: invalid ip or cidr range: '10.0.0.0/99'",
                "k.yaml:4:35: plugins[0] (ip-restriction).config.allow[1]: invalid ip or cidr range: 'ok'",
            ]
        )
    }
}
