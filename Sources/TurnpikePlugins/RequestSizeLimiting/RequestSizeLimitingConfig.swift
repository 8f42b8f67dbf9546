public import TurnpikeModel

/// request-size-limiting's config (kong/plugins/request-size-limiting/schema.lua).
public struct RequestSizeLimitingConfig: ScopeFreePluginConfig, Equatable {
    /// In `sizeUnit`s (Kong's integer, default 128).
    public var allowedPayloadSize: Int64 = 128
    public var sizeUnit = "megabytes"
    public var requireContentLength = false

    public init() {}

    static let units: [(name: String, bytes: Int64)] = [("megabytes", 1_048_576), ("kilobytes", 1024), ("bytes", 1)]

    /// The largest body allowed, in bytes (a product past Int64's range saturates).
    public var allowedBytes: Int64 {
        let factor = Self.units.first { $0.name == self.sizeUnit }?.bytes ?? 1
        let (product, overflow) = self.allowedPayloadSize.multipliedReportingOverflow(by: factor)
        return overflow ? (self.allowedPayloadSize < 0 ? .min : .max) : product
    }

    public func rendered() -> Rendered {
        .object([
            ("allowed_payload_size", .integer(Int(self.allowedPayloadSize))),
            ("require_content_length", .bool(self.requireContentLength)),
            ("size_unit", .string(self.sizeUnit)),
        ])
    }

    public static func decode(
        _ node: ConfigNode?,
        at location: SourceLocation,
        path: FieldPath,
        diagnostics: Diagnostics
    ) -> RequestSizeLimitingConfig? {
        var config = RequestSizeLimitingConfig()
        let before = diagnostics.errors.count
        if let node {
            guard var r = Record(node, path: path, diagnostics: diagnostics) else { return nil }
            if let v = r.integer("allowed_payload_size") { config.allowedPayloadSize = Int64(v) }
            if let v = r.oneOf("size_unit", Self.units.map(\.name)) { config.sizeUnit = v }
            if let v = r.bool("require_content_length") { config.requireContentLength = v }
            for required in ["size_unit", "require_content_length"] where r.isNull(required) {
                r.error("required field missing", key: required)
            }
            r.finish()
        }
        return diagnostics.errors.count == before ? config : nil
    }
}
