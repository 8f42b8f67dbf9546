public import TurnpikeModel
import TurnpikeRegex

/// bot-detection's config (kong/plugins/bot-detection/schema.lua): `allow` and `deny` lists of
/// regular expressions (PCRE, as `ngx.re` reads them), checked against the `User-Agent`.
public struct BotDetectionConfig: ScopeFreePluginConfig {
    public var allow: [String] = []
    public var deny: [String] = []
    /// The lists, compiled at load.
    var allowRegexes: [CompiledRegex] = []
    var denyRegexes: [CompiledRegex] = []

    public init() {}

    public func rendered() -> Rendered {
        .object([("allow", .strings(self.allow)), ("deny", .strings(self.deny))])
    }

    /// One set of match limits for every plugin regex: a runaway pattern gives up, it never spins.
    static let limits = RegexMatchLimits()

    public static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    ) -> BotDetectionConfig? {
        var config = BotDetectionConfig()
        let before = diagnostics.errors.count
        if let node {
            guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
            func regexes(_ key: String, _ r: inout Record) -> ([String], [CompiledRegex])? {
                var compiled: [CompiledRegex] = []
                let list = r.array(key) { element, elementPath -> String? in
                    guard let text = Record.string(element, path: elementPath, diagnostics: diagnostics) else {
                        return nil
                    }
                    // Kong's `is_regex`: the pattern must compile.
                    guard case .success(let regex) = CompiledRegex.compile(text, limits: Self.limits, dialect: .nginx)
                    else {
                        diagnostics.add(
                            "not a valid regex: \(Record.printable(text))",
                            node: element,
                            path: elementPath.text
                        )
                        return nil
                    }
                    compiled.append(regex)
                    return text
                }
                return list.map { ($0, compiled) }
            }
            if let (list, compiled) = regexes("allow", &r) { (config.allow, config.allowRegexes) = (list, compiled) }
            if let (list, compiled) = regexes("deny", &r) { (config.deny, config.denyRegexes) = (list, compiled) }
            r.finish()
        }
        return diagnostics.errors.count == before ? config : nil
    }
}
