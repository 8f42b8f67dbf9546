public import TurnpikeModel

/// request-termination's config (kong/plugins/request-termination/schema.lua).
public struct RequestTerminationConfig: ScopeFreePluginConfig, Equatable {
    public var statusCode = 503
    public var message: String?
    public var contentType: String?
    public var body: String?
    public var echo = false
    /// A header or query argument that must be present for the plugin to answer.
    public var trigger: String?

    public init() {}

    public func rendered() -> Rendered {
        .object([
            ("body", .optional(self.body)),
            ("content_type", .optional(self.contentType)),
            ("echo", .bool(self.echo)),
            ("message", .optional(self.message)),
            ("status_code", .integer(self.statusCode)),
            ("trigger", .optional(self.trigger)),
        ])
    }

    public static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    ) -> RequestTerminationConfig? {
        var config = RequestTerminationConfig()
        guard let node else { return config }
        guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
        let before = diagnostics.errors.count
        if let v = r.integer("status_code", in: 100...599) { config.statusCode = v }
        config.message = r.string("message", allowEmpty: true)
        config.contentType = r.string("content_type", allowEmpty: true)
        config.body = r.string("body", allowEmpty: true)
        if let v = r.bool("echo") { config.echo = v }
        if let n = r.value("trigger"), let t = Record.string(n, path: r.fieldPath("trigger"), diagnostics: diagnostics)
        {
            if let message = Validators.headerName(t) {
                r.error(message, key: "trigger", node: n)
            } else {
                config.trigger = t
            }
        }
        for required in ["status_code", "echo"] where r.isNull(required) {
            r.error("required field missing", key: required)
        }
        r.finish()
        // Kong's custom_validator, in its order.
        func present(_ v: String?) -> Bool { !(v ?? "").isEmpty }
        var problem: String?
        if present(config.message) && (present(config.contentType) || present(config.body)) {
            problem = "message cannot be used with content_type or body"
        } else if present(config.contentType) && !present(config.body) {
            problem = "content_type requires a body"
        } else if config.echo && (present(config.contentType) || present(config.body)) {
            problem = "echo cannot be used with content_type and body"
        }
        if let problem, diagnostics.errors.count == before {
            diagnostics.add(problem, at: node.location, path: path.text)
        }
        return diagnostics.errors.count == before ? config : nil
    }
}
