import Testing
import TurnpikeModel
import TurnpikeServer

/// request-termination's config checks (kong/plugins/request-termination/schema.lua).
@Suite struct RequestTerminationConfigTests {
    static func errors(_ config: String, consumer: Bool = false) -> [String] {
        var yaml = "_format_version: \"3.0\"\nconsumers:\n  - username: u\nplugins:\n  - name: request-termination\n"
        if consumer { yaml += "    consumer: u\n" }
        yaml += "    config: \(config)\n"
        switch ConfigLoader().compile(Array(yaml.utf8), file: "k.yaml") {
        case .valid: return []
        case .invalid(let errors): return errors.map(\.description)
        case .unreadable(let message): return [message]
        }
    }

    @Test func kongsChecks() {
        #expect(Self.errors("{status_code: 200, body: ok, content_type: text/plain}") == [])
        #expect(Self.errors("{trigger: X-Test}") == [])
        let prefix = "k.yaml:6:13: plugins[0] (request-termination).config"
        #expect(Self.errors("{message: a, body: b}") == ["\(prefix): message cannot be used with content_type or body"])
        #expect(Self.errors("{content_type: text/plain}") == ["\(prefix): content_type requires a body"])
        #expect(Self.errors("{echo: true, body: b}") == ["\(prefix): echo cannot be used with content_type and body"])
        #expect(Self.errors("{echo: true}") == [])
        #expect(Self.errors("{status_code: 600}").count == 1)
        // Kong allows request-termination on a consumer (chains pick it once the consumer is known).
        #expect(Self.errors("{}", consumer: true) == [])
    }
}
