import TurnpikeModel

/// request-termination's `echo` body (kong/plugins/request-termination/handler.lua): the
/// message, the node, the request as Kong's PDK reads it (headers by lower-case name, query
/// arguments and the body decoded, a repeated name as an array, an argument without `=` as
/// `true`) and the matched route and service as the admin API shows them. Fields Kong leaves
/// out when they are nil are left out here too.
enum RequestEcho {
    static func json(message: String?, context: AccessContext, directory: any CredentialDirectory) -> String {
        let request = context.request
        var fields: [(String, Rendered)] = []
        if let message { fields.append(("message", .string(message))) }
        fields.append(
            (
                "kong",
                .object([
                    ("node_id", .string(GatewayNode.id.description)), ("worker_pid", .integer(GatewayNode.pid)),
                    ("hostname", .string(GatewayNode.hostname)),
                ])
            )
        )
        var echoed: [(String, Rendered)] = [
            ("scheme", .string(request.scheme)), ("host", .string(request.host)), ("port", .integer(request.port)),
            ("headers", Self.headers(request.headers)), ("query", Self.arguments(QueryString.grouped(request.query))),
        ]
        if let body = request.body, let parsed = Self.body(body, contentType: request.contentType) {
            echoed.append(("body", parsed))
        }
        if let body = request.body {
            echoed.append(("raw_body", .string(String(decoding: body, as: UTF8.self))))
        } else if request.declaresNoBody {
            echoed.append(("raw_body", .string("")))
        }
        echoed += [
            ("method", .string(request.method)), ("path", .string(request.kongPath)),
            ("uri_captures", Self.captures(request.uriCaptures)),
        ]
        fields.append(("request", .object(echoed)))
        if let id = request.routeID, let route = directory.kongEntity(route: id) {
            fields.append(("matched_route", route))
        }
        if let id = request.serviceID, let service = directory.kongEntity(service: id) {
            fields.append(("matched_service", service))
        }
        return Rendered.object(fields).json
    }

    /// `kong.request.get_uri_captures()`: named groups by name, numbered ones as an array from
    /// group 1 (cjson writes a Lua array from index 1: the whole match, index 0, is left out).
    /// Kong's router leaves a group that took no part unset: trailing ones are not in the
    /// array, one before a set group is `null`.
    static func captures(_ captures: URICaptures) -> Rendered {
        var unnamed = Array(captures.unnamed.dropFirst())
        while let last = unnamed.last, last == nil { unnamed.removeLast() }
        return .object([
            (
                "named",
                .object(captures.named.sorted { $0.key < $1.key }.compactMap { k, v in v.map { (k, .string($0)) } })
            ),
            ("unnamed", .array(unnamed.map { $0.map(Rendered.string) ?? .null })),
        ])
    }

    /// `kong.request.get_headers()`: lower-case names, a repeated header as an array.
    static func headers(_ list: HeaderFields) -> Rendered {
        Self.arguments(QueryString.group(list.map { ($0.name.lowercased(), $0.value) }))
    }

    static func arguments(_ grouped: [(name: String, values: [String?])]) -> Rendered {
        .object(
            grouped.map { name, values in
                let each = values.map { $0.map(Rendered.string) ?? .bool(true) }
                return (name, each.count == 1 ? each[0] : .array(each))
            }
        )
    }

    /// `kong.request.get_body()`: a form, a JSON document or multipart fields; nil for other
    /// types or a body that does not parse (Kong's error: the field is then absent).
    static func body(_ bytes: [UInt8], contentType: String?) -> Rendered? {
        guard let contentType else { return nil }
        let lower = contentType.lowercased()
        if lower.hasPrefix("application/x-www-form-urlencoded") {
            return Self.arguments(QueryString.grouped(Substring(decoding: bytes, as: UTF8.self)))
        }
        if lower.hasPrefix("application/json") {
            var parser = JSONDocument(bytes: bytes)
            return parser.document()
        }
        if lower.hasPrefix("multipart/form-data"), let fields = BodyFields.parse(bytes, contentType: contentType) {
            return Self.arguments(
                QueryString.group(
                    fields.fields.map { field in
                        (field.name, { if case .text(let t) = field.value { t } else { nil } }())
                    }
                )
            )
        }
        return nil
    }
}
