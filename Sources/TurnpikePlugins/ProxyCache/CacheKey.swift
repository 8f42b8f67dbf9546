import Crypto

/// proxy-cache's key (kong/plugins/proxy-cache/cache_key.lua): the lower-case hex SHA-256 of
/// `prefix|method|uri|params|headers`, where the prefix is `<consumer id>:<route id>` (or the
/// route id alone, or `default`), params are the query arguments (all of them sorted by name,
/// or `vary_query_params` in their order) and headers are the `vary_headers`; each as
/// `name=value`, repeated values sorted and joined with `,`, a valueless argument as its name,
/// joined with `:`. Kong hashes the raw request line where Turnpike hashes the path: the keys
/// differ in bytes from Kong's, never in what they tell apart.
enum CacheKey {
    static func build(
        consumer: String?,
        route: String?,
        method: String,
        uri: Substring,
        query: Substring?,
        headers: HeaderFields,
        config: ProxyCacheConfig
    ) -> String {
        let prefix: String
        if let consumer, let route {
            prefix = consumer + ":" + route
        } else {
            prefix = route ?? "default"
        }
        let args = QueryString.grouped(query)
        let paramsPart: String
        if let vary = config.varyQueryParams, !vary.isEmpty {
            paramsPart = Self.join(vary) { name in args.first { $0.name == name }?.values }
        } else {
            paramsPart = Self.join(args.map(\.name).sorted()) { name in args.first { $0.name == name }?.values }
        }
        var headersPart = ""
        if let vary = config.varyHeaders, !vary.isEmpty {
            headersPart = Self.join(vary) { name in
                let values = headers.fields { HeaderName.lookupEqual($0, name.utf8) }.map { Optional($0.value) }
                return values.isEmpty ? nil : values
            }
        }
        let path = config.ignoreURICase ? uri.lowercased() : String(uri)
        let text = prefix + "|" + method + "|" + path + "|" + paramsPart + "|" + headersPart
        return SHA256.hash(data: Array(text.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// Kong's `generate_key_from`: each field present, as `name`, `name=value` or
    /// `name=v1,v2` (sorted), joined with `:`. `values`: nil for an absent field; a nil value
    /// is an argument without `=`.
    static func join(_ fields: [String], values: (String) -> [String?]?) -> String {
        var parts: [String] = []
        for field in fields {
            guard let found = values(field) else { continue }
            if found.count > 1 {
                parts.append(field + "=" + found.map { $0 ?? "" }.sorted().joined(separator: ","))
            } else if let value = found.first ?? nil {
                parts.append(field + "=" + value)
            } else {
                parts.append(field)
            }
        }
        return parts.joined(separator: ":")
    }
}

/// A `Cache-Control` header's directives (kong/tools/http.lua `parse_directive_header`): lower-
/// case names; a value that reads as a number is one.
struct CacheDirectives {
    var names: Set<String> = []
    var numbers: [String: Double] = [:]

    init(_ lines: [String]) {
        for line in lines {
            for part in line.split(separator: ",") {
                let trimmed = part.drop { $0 == " " || $0 == "\t" }
                guard !trimmed.isEmpty else { continue }
                let pieces = trimmed.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = pieces[0].lowercased()
                self.names.insert(name)
                if pieces.count == 2, let n = Double(pieces[1]) { self.numbers[name] = n }
            }
        }
    }

    func has(_ name: String) -> Bool { self.names.contains(name) }
    func number(_ name: String) -> Double? { self.numbers[name] }
}

/// A media type as kong/tools/mime_type.lua reads it: type and subtype lower-cased (`*` alone
/// is `*/*`), parameters with lower-case names.
struct MediaType: Equatable {
    var type: String
    var subtype: String
    var parameters: [String: String]

    init?(_ text: String) {
        let parts = text.split(separator: ";", omittingEmptySubsequences: false)
        let main = parts[0].trimmingCharacters(in: " \t")
        if main == "*" {
            (self.type, self.subtype) = ("*", "*")
        } else {
            let ts = main.split(separator: "/", omittingEmptySubsequences: false)
            guard ts.count == 2, !ts[0].isEmpty, !ts[1].isEmpty else { return nil }
            (self.type, self.subtype) = (ts[0].lowercased(), ts[1].lowercased())
        }
        var parameters: [String: String] = [:]
        for p in parts.dropFirst() {
            let kv = p.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { return nil }
            var value = String(kv[1].trimmingCharacters(in: " \t"))
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            parameters[kv[0].trimmingCharacters(in: " \t").lowercased()] = value
        }
        self.parameters = parameters
    }

    /// Kong's match: type and subtype equal or `*` on the configured side, and exactly the same
    /// parameters.
    func accepts(_ other: MediaType) -> Bool {
        (self.type == "*" || self.type == other.type) && (self.subtype == "*" || self.subtype == other.subtype)
            && self.parameters == other.parameters
    }
}
