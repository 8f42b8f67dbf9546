public import TurnpikeModel
import TurnpikeRegex

/// cors's config (kong/plugins/cors/schema.lua), with the origins compiled at load
/// (`CORSOrigins`).
public struct CORSConfig: ScopeFreePluginConfig {
    public var origins: [String]?
    public var headers: [String]?
    public var exposedHeaders: [String]?
    public var methods = Self.allMethods
    public var maxAge: Double?
    public var credentials = false
    public var privateNetwork = false
    public var preflightContinue = false
    public var allowOriginAbsent = true
    var compiled = CORSOrigins.allowAll

    public init() {}

    static let allMethods = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"]

    public func rendered() -> Rendered {
        .object([
            ("allow_origin_absent", .bool(self.allowOriginAbsent)),
            ("credentials", .bool(self.credentials)),
            ("exposed_headers", .strings(self.exposedHeaders)),
            ("headers", .strings(self.headers)),
            ("max_age", self.maxAge.map(LuaNumber.rendered) ?? .null),
            ("methods", .strings(self.methods)),
            ("origins", .strings(self.origins)),
            ("preflight_continue", .bool(self.preflightContinue)),
            ("private_network", .bool(self.privateNetwork)),
        ])
    }

    public static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    ) -> CORSConfig? {
        var config = CORSConfig()
        let before = diagnostics.errors.count
        if let node {
            guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
            config.origins = r.array("origins") { element, elementPath -> String? in
                guard let text = Record.string(element, path: elementPath, diagnostics: diagnostics) else { return nil }
                // Kong's validate_asterisk_or_regex.
                guard text == "*" || CORSOrigins.isRegex(text) else {
                    diagnostics.add(
                        "'\(Record.printable(text))' is not a valid regex",
                        node: element,
                        path: elementPath.text
                    )
                    return nil
                }
                return text
            }
            config.headers = r.stringArray("headers")
            config.exposedHeaders = r.stringArray("exposed_headers")
            if let methods = r.oneOfArray("methods", Self.allMethods) { config.methods = methods }
            config.maxAge = r.number("max_age")
            if let v = r.bool("credentials") { config.credentials = v }
            if let v = r.bool("private_network") { config.privateNetwork = v }
            if let v = r.bool("preflight_continue") { config.preflightContinue = v }
            if let v = r.bool("allow_origin_absent") { config.allowOriginAbsent = v }
            for required in ["credentials", "private_network", "preflight_continue", "allow_origin_absent"]
            where r.isNull(required) {
                r.error("required field missing", key: required)
            }
            r.finish()
        }
        guard diagnostics.errors.count == before else { return nil }
        config.compiled = CORSOrigins(config.origins ?? [])
        return config
    }
}
