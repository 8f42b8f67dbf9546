public import TurnpikeModel

/// ip-restriction's config (kong/plugins/ip-restriction/schema.lua): `allow` and `deny` lists of
/// IPs or CIDR ranges (at least one), the rejection's `status` and `message`.
public struct IPRestrictionConfig: ScopeFreePluginConfig, Equatable {
    public var allow: [String]?
    public var deny: [String]?
    public var status: Int?
    public var message: String?
    /// The lists, compiled.
    var allowRanges: [IPRange] = []
    var denyRanges: [IPRange] = []

    public init() {}

    public func rendered() -> Rendered {
        .object([
            ("allow", .strings(self.allow)),
            ("deny", .strings(self.deny)),
            ("message", .optional(self.message)),
            ("status", .optional(self.status)),
        ])
    }

    public static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    ) -> IPRestrictionConfig? {
        var config = IPRestrictionConfig()
        let before = diagnostics.errors.count
        if let node {
            guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
            func ranges(_ key: String, _ r: inout Record) -> ([String], [IPRange])? {
                var compiled: [IPRange] = []
                let list = r.array(key) { element, elementPath -> String? in
                    guard let text = Record.string(element, path: elementPath, diagnostics: diagnostics) else {
                        return nil
                    }
                    guard let range = IPRange(text) else {
                        diagnostics.add(
                            "invalid ip or cidr range: '\(Record.printable(text))'",
                            node: element,
                            path: elementPath.text
                        )
                        return nil
                    }
                    compiled.append(range)
                    return text
                }
                return list.map { ($0, compiled) }
            }
            if let (list, compiled) = ranges("allow", &r) { (config.allow, config.allowRanges) = (list, compiled) }
            if let (list, compiled) = ranges("deny", &r) { (config.deny, config.denyRanges) = (list, compiled) }
            // Kong's `number`, used as the HTTP status of the rejection: one a response can carry.
            config.status = r.integer("status", in: 100...599)
            config.message = r.string("message", allowEmpty: true)
            r.finish()
        }
        if (config.allow?.isEmpty ?? true) && (config.deny?.isEmpty ?? true) && diagnostics.errors.count == before {
            diagnostics.add(
                "at least one of these fields must be non-empty: 'config.allow', 'config.deny'",
                at: node?.location ?? location,
                path: path.text
            )
        }
        return diagnostics.errors.count == before ? config : nil
    }
}
