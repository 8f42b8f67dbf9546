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
            ("uri_captures", .object([("named", .object([])), ("unnamed", .object([]))])),
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

/// A whole JSON document as `Rendered` (objects keep their order), nesting bounded: for the echo.
struct JSONDocument {
    let bytes: [UInt8]
    var i = 0
    let maxDepth: Int

    /// `maxDepth`: nesting allowed (cjson's default is 1000).
    init(bytes: [UInt8], maxDepth: Int = 64) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func document() -> Rendered? {
        guard let value = self.value(depth: 0) else { return nil }
        self.space()
        return self.i == self.bytes.count ? value : nil
    }

    mutating func space() {
        while self.i < self.bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(self.bytes[self.i]) { self.i += 1 }
    }

    mutating func value(depth: Int) -> Rendered? {
        guard depth < self.maxDepth else { return nil }
        self.space()
        guard self.i < self.bytes.count else { return nil }
        switch self.bytes[self.i] {
        case UInt8(ascii: "{"):
            self.i += 1
            var fields: [(String, Rendered)] = []
            self.space()
            if self.i < self.bytes.count, self.bytes[self.i] == UInt8(ascii: "}") {
                self.i += 1
                return .object(fields)
            }
            while true {
                self.space()
                guard let key = self.string() else { return nil }
                self.space()
                guard self.i < self.bytes.count, self.bytes[self.i] == UInt8(ascii: ":") else { return nil }
                self.i += 1
                guard let v = self.value(depth: depth + 1) else { return nil }
                fields.append((key, v))
                self.space()
                guard self.i < self.bytes.count else { return nil }
                if self.bytes[self.i] == UInt8(ascii: ",") {
                    self.i += 1
                } else if self.bytes[self.i] == UInt8(ascii: "}") {
                    self.i += 1
                    return .object(fields)
                } else {
                    return nil
                }
            }
        case UInt8(ascii: "["):
            self.i += 1
            var items: [Rendered] = []
            self.space()
            if self.i < self.bytes.count, self.bytes[self.i] == UInt8(ascii: "]") {
                self.i += 1
                return .array(items)
            }
            while true {
                guard let v = self.value(depth: depth + 1) else { return nil }
                items.append(v)
                self.space()
                guard self.i < self.bytes.count else { return nil }
                if self.bytes[self.i] == UInt8(ascii: ",") {
                    self.i += 1
                } else if self.bytes[self.i] == UInt8(ascii: "]") {
                    self.i += 1
                    return .array(items)
                } else {
                    return nil
                }
            }
        case UInt8(ascii: "\""):
            return self.string().map(Rendered.string)
        case UInt8(ascii: "t"):
            return self.literal("true") ? .bool(true) : nil
        case UInt8(ascii: "f"):
            return self.literal("false") ? .bool(false) : nil
        case UInt8(ascii: "n"):
            return self.literal("null") ? .null : nil
        default:
            return self.number()
        }
    }

    mutating func literal(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard self.i + w.count <= self.bytes.count, Array(self.bytes[self.i..<(self.i + w.count)]) == w else {
            return false
        }
        self.i += w.count
        return true
    }

    mutating func number() -> Rendered? {
        let start = self.i
        while self.i < self.bytes.count, "+-0123456789.eE".utf8.contains(self.bytes[self.i]) { self.i += 1 }
        let text = String(decoding: self.bytes[start..<self.i], as: UTF8.self)
        if let n = Int(text) { return .integer(n) }
        return Double(text).map(Rendered.number)
    }

    mutating func string() -> String? {
        guard self.i < self.bytes.count, self.bytes[self.i] == UInt8(ascii: "\"") else { return nil }
        self.i += 1
        var out: [UInt8] = []
        while self.i < self.bytes.count {
            let c = self.bytes[self.i]
            self.i += 1
            switch c {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard self.i < self.bytes.count else { return nil }
                let e = self.bytes[self.i]
                self.i += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    guard self.i + 4 <= self.bytes.count,
                        let v = UInt32(String(decoding: self.bytes[self.i..<(self.i + 4)], as: UTF8.self), radix: 16)
                    else { return nil }
                    self.i += 4
                    // A lone surrogate becomes U+FFFD (pairs are joined below when present).
                    var scalar = Unicode.Scalar(v)
                    if (0xD800..<0xDC00).contains(v), self.i + 6 <= self.bytes.count,
                        self.bytes[self.i] == UInt8(ascii: "\\"), self.bytes[self.i + 1] == UInt8(ascii: "u"),
                        let low = UInt32(
                            String(decoding: self.bytes[(self.i + 2)..<(self.i + 6)], as: UTF8.self),
                            radix: 16
                        ), (0xDC00..<0xE000).contains(low)
                    {
                        self.i += 6
                        scalar = Unicode.Scalar(0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00))
                    }
                    out += Array(String(Character(scalar ?? "\u{FFFD}")).utf8)
                default: out.append(e)
                }
            default:
                out.append(c)
            }
        }
        return nil
    }
}
