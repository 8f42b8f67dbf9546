import Testing
import TurnpikeModel
import TurnpikeServer

/// bot-detection's config: Kong's `is_regex` check, and no consumer scope.
@Suite struct BotDetectionConfigTests {
    static func errors(_ config: String, consumer: Bool = false) -> [String] {
        var yaml = "_format_version: \"3.0\"\n"
        if consumer { yaml += "consumers: [{username: c}]\n" }
        yaml += "plugins:\n  - name: bot-detection\n    config: \(config)\n"
        if consumer { yaml += "    consumer: c\n" }
        guard case .invalid(let errors) = ConfigLoader().compile(Array(yaml.utf8), file: "k.yaml") else { return [] }
        return errors.map(\.description)
    }

    @Test func kongsChecks() {
        #expect(Self.errors("{allow: [facebookexternalhit], deny: ['^curl/']}") == [])
        #expect(
            Self.errors("{deny: ['(unclosed']}") == [
                "k.yaml:4:21: plugins[0] (bot-detection).config.deny[0]: not a valid regex: (unclosed"
            ]
        )
        #expect(Self.errors("{}", consumer: true).contains { $0.hasSuffix("consumer: value must be null") })
    }
}
