public import TurnpikeModel

/// correlation-id's config (kong/plugins/correlation-id/schema.lua).
public struct CorrelationIDConfig: ScopeFreePluginConfig, Equatable {
    public var headerName = "Kong-Request-ID"
    public var generator = "uuid#counter"
    public var echoDownstream = false

    public init() {}

    static let generators = ["uuid", "uuid#counter", "tracker"]

    public func rendered() -> Rendered {
        .object([
            ("echo_downstream", .bool(self.echoDownstream)),
            ("generator", .string(self.generator)),
            ("header_name", .string(self.headerName)),
        ])
    }

    public static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    ) -> CorrelationIDConfig? {
        var config = CorrelationIDConfig()
        let before = diagnostics.errors.count
        if let node {
            guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
            if let n = r.value("header_name"),
                let v = Record.string(n, path: r.fieldPath("header_name"), diagnostics: diagnostics)
            {
                // Kong takes any string; a name that cannot be a header would make every request
                // fail, so it is refused here.
                if let message = Validators.headerName(v) {
                    r.error(message, key: "header_name", node: n)
                } else {
                    config.headerName = v
                }
            }
            if let v = r.oneOf("generator", Self.generators) { config.generator = v }
            if let v = r.bool("echo_downstream") { config.echoDownstream = v }
            for required in ["generator", "echo_downstream"] where r.isNull(required) {
                r.error("required field missing", key: required)
            }
            r.finish()
        }
        return diagnostics.errors.count == before ? config : nil
    }
}
