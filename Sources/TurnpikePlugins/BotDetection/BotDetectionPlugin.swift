import TurnpikeModel
import TurnpikeRegex

/// Kong's bot-detection (kong/plugins/bot-detection/handler.lua): the `User-Agent`, stripped of
/// surrounding white space, is allowed if an `allow` pattern matches it, else refused (403) if a
/// `deny` pattern or one of the built-in bot patterns (`BotRules`) does. No `User-Agent` passes;
/// two of them answer 400.
public struct BotDetectionPlugin: Plugin, AccessHandler {
    public static let name = "bot-detection"
    public static let priority = 2500
    public static let allowsConsumerScope = false
    public typealias Config = BotDetectionConfig

    public let config: BotDetectionConfig
    public var name: String { Self.name }

    public init(config: BotDetectionConfig) {
        self.config = config
    }

    /// The built-in rules, compiled once per process (they never change).
    static let bots: [CompiledRegex] = BotRules.patterns.compactMap {
        try? CompiledRegex.compile($0, limits: BotDetectionConfig.limits, dialect: .nginx).get()
    }

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        var agent: String?
        for value in context.request.headers.values("user-agent") {
            guard agent == nil else {
                return .respond(LocalResponse(status: 400, message: "Only one User-Agent header allowed"))
            }
            agent = value
        }
        guard let agent else { return .proceed }
        return self.refuses(agent) ? .respond(LocalResponse(status: 403, message: "Forbidden")) : .proceed
    }

    /// Kong's `examine_agent`: allow first, then deny, then the bot rules.
    func refuses(_ userAgent: String) -> Bool {
        var subject = Array(Substring(userAgent).kongStripped.utf8)
        let scratch = MatchScratch()
        return subject.withUnsafeMutableBufferPointer { raw in
            let bytes = UnsafeBufferPointer(raw)
            if self.config.allowRegexes.contains(where: { $0.matches(bytes, scratch: scratch) }) { return false }
            if self.config.denyRegexes.contains(where: { $0.matches(bytes, scratch: scratch) }) { return true }
            return Self.bots.contains { $0.matches(bytes, scratch: scratch) }
        }
    }
}
