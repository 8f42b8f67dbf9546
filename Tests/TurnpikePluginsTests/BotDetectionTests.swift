import Testing
import TurnpikeModel
import TurnpikeRegex

@testable import TurnpikePlugins

/// bot-detection (kong/plugins/bot-detection/), with the user agents of Kong's own spec.
@Suite struct BotDetectionTests {
    static let chrome =
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_5) AppleWebKit/537.36 (KHTML, like Gecko) "
        + "Chrome/50.0.2661.102 Safari/537.36"

    static func plugin(allow: [String] = [], deny: [String] = []) throws -> BotDetectionPlugin {
        var config = BotDetectionConfig()
        config.allow = allow
        config.deny = deny
        func compile(_ patterns: [String]) throws -> [CompiledRegex] {
            try patterns.map { try CompiledRegex.compile($0, limits: BotDetectionConfig.limits, dialect: .nginx).get() }
        }
        config.allowRegexes = try compile(allow)
        config.denyRegexes = try compile(deny)
        return BotDetectionPlugin(config: config)
    }

    static func status(_ plugin: BotDetectionPlugin, _ agents: [String]) -> Int {
        var context = AccessContext(
            request: AccessRequest(
                method: "GET",
                headers: agents.map { (name: "User-Agent", value: $0) },
                query: nil
            ),
            now: 0
        )
        if case .respond(let r) = plugin.access(&context, directory: Directory()) { return r.status }
        return 200
    }

    @Test func everyBuiltInRuleCompiles() {
        #expect(BotDetectionPlugin.bots.count == BotRules.patterns.count)
    }

    @Test func kongsSpec() throws {
        let plain = try Self.plugin()
        #expect(Self.status(plain, []) == 200)
        #expect(Self.status(plain, [Self.chrome]) == 200)
        #expect(Self.status(plain, ["HelloWorld"]) == 200)
        #expect(Self.status(plain, ["curl/7.43.0"]) == 200)
        #expect(Self.status(plain, ["Googlebot/2.1 (+http://www.google.com/bot.html)"]) == 403)
        #expect(Self.status(plain, ["facebookexternalhit/1.1"]) == 403)
        #expect(Self.status(plain, ["  facebookexternalhit/1.1\t"]) == 403)
        #expect(Self.status(plain, ["python-requests/2.31 (my crawler)"]) == 403)
        #expect(Self.status(plain, ["a", "b"]) == 400)

        let denying = try Self.plugin(deny: ["HelloWorld"])
        #expect(Self.status(denying, ["HelloWorld"]) == 403)
        #expect(Self.status(denying, [Self.chrome]) == 200)

        let allowing = try Self.plugin(allow: ["facebookexternalhit/1.1"])
        #expect(Self.status(allowing, ["facebookexternalhit/1.1"]) == 200)
        #expect(Self.status(allowing, ["Googlebot/2.1 (+http://www.google.com/bot.html)"]) == 403)
    }
}
