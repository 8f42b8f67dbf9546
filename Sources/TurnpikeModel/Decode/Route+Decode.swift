extension DeclarativeDecoder {
    func readRoute(_ node: ConfigNode, path: FieldPath, parent: Parent?) {
        guard var r = Record(node, path: path, diagnostics: self.diagnostics) else { return }
        r.extras()
        self.skipTimestamps(&r)
        let explicitID = self.readID(&r)
        let name = self.readName(&r)
        let tags = self.readTags(&r)
        let diagnostics = self.diagnostics

        var serviceRef: Reference?
        if let parent {
            self.checkRestatedParent(&r, parent: parent)
        } else {
            serviceRef = self.readReference(&r, key: "service")
        }

        let protocolsGiven = r.has("protocols")
        var protocols = self.readProtocols(&r) ?? [.http, .https]
        if protocolsGiven && protocols.isEmpty && !r.isNull("protocols") {
            r.error("length must be at least 1", key: "protocols")
        }
        if protocols.isEmpty { protocols = [.http, .https] }

        let methods = r.array("methods", expected: "expected a set") { node, path -> String? in
            guard let s = Record.string(node, path: path, diagnostics: diagnostics) else { return nil }
            guard s.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else {
                diagnostics.add("invalid value: \(Record.printable(s))", node: node, path: path.text)
                return nil
            }
            return s
        }
        let hosts = r.array("hosts") { node, path -> String? in
            guard let s = Record.string(node, path: path, diagnostics: diagnostics) else { return nil }
            if let message = RouteRules.host(s) {
                diagnostics.add(message, node: node, path: path.text)
                return nil
            }
            return s
        }
        let legacy = self.legacyPaths
        var pathLocations: [SourceLocation] = []
        let paths = r.array("paths") { node, path -> String? in
            guard var s = Record.string(node, path: path, diagnostics: diagnostics) else { return nil }
            if legacy { s = RouteRules.migrateLegacyPath(s) }
            if let message = RouteRules.path(s) {
                diagnostics.add(message, node: node, path: path.text)
                return nil
            }
            pathLocations.append(node.location)
            return s
        }
        var headers: [(name: String, values: [String])]?
        if let headersNode = r.value("headers") {
            let headersPath = r.fieldPath("headers")
            if let entries = headersNode.mapping {
                var list: [(name: String, values: [String])] = []
                for entry in entries {
                    let keyPath = headersPath.appending(Record.printable(entry.name))
                    guard let key = entry.key.string else {
                        diagnostics.add("expected a string", node: entry.key, path: keyPath.text)
                        continue
                    }
                    if let message = Validators.headerName(key) {
                        diagnostics.add(message, node: entry.key, path: keyPath.text)
                        continue
                    }
                    if key.lowercased() == "host" {
                        diagnostics.add(
                            "cannot contain 'host' header, which must be specified in the 'hosts' attribute",
                            node: entry.key,
                            path: headersPath.text
                        )
                        continue
                    }
                    guard
                        let values = Record.array(
                            entry.value,
                            path: keyPath,
                            diagnostics: diagnostics,
                            element: { n, p in
                                Record.string(n, path: p, diagnostics: diagnostics)
                            }
                        )
                    else { continue }
                    list.append((key, values))
                }
                headers = list
            } else if let items = headersNode.sequence, items.isEmpty {
                headers = []
            } else {
                r.error("expected a map", key: "headers", node: headersNode)
            }
        }
        let snis = r.array("snis", expected: "expected a set") { node, path -> String? in
            guard let s = Record.string(node, path: path, diagnostics: diagnostics) else { return nil }
            if let message = RouteRules.sni(s) {
                diagnostics.add(message, node: node, path: path.text)
                return nil
            }
            return s
        }
        let sourcesNode = r.value("sources")
        let destinationsNode = r.value("destinations")
        let stripPath = r.bool("strip_path")
        let preserveHost = r.bool("preserve_host")
        let regexPriority = r.integer("regex_priority")
        let pathHandling = r.oneOf("path_handling", ["v0", "v1"])
        var redirect: Int?
        if let redirectNode = r.value("https_redirect_status_code") {
            if let code = Record.integer(
                redirectNode,
                path: r.fieldPath("https_redirect_status_code"),
                diagnostics: diagnostics
            ) {
                if [426, 301, 302, 307, 308].contains(code) {
                    redirect = code
                } else {
                    r.error(
                        "expected one of: 426, 301, 302, 307, 308",
                        key: "https_redirect_status_code",
                        node: redirectNode
                    )
                }
            }
        }
        let requestBuffering = r.bool("request_buffering")
        let responseBuffering = r.bool("response_buffering")
        for required in ["strip_path", "preserve_host", "regex_priority", "https_redirect_status_code"]
        where r.isNull(required) {
            r.error("required field missing", key: required)
        }
        let pluginsNode = r.take("plugins")
        r.finish(allowExtras: true)

        // Entity checks, in Kong's words.
        let httpFamily = protocols.contains(.http) || protocols.contains(.https)
        let sets: [Set<EntityProtocol>] = [[.http, .https], [.tcp, .tls, .udp], [.tlsPassthrough], [.grpc, .grpcs]]
        if sets.filter({ !$0.isDisjoint(with: protocols) }).count > 1 {
            r.error(
                "these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp'), ('tls_passthrough'), ('grpc', 'grpcs')",
                key: "protocols"
            )
        }
        if httpFamily {
            if sourcesNode != nil {
                r.error("cannot set 'sources' when 'protocols' is 'http' or 'https'", key: "sources")
            }
            if destinationsNode != nil {
                r.error("cannot set 'destinations' when 'protocols' is 'http' or 'https'", key: "destinations")
            }
        }
        let tlsProtocols: Set<EntityProtocol> = [.https, .grpcs, .tls, .tlsPassthrough]
        if let snis, !snis.isEmpty, tlsProtocols.isDisjoint(with: protocols) {
            r.error(
                "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'",
                key: "snis"
            )
        }
        // A criterion counts as set when written non-empty, even if some element was invalid (that
        // element has its own error; "must set one of" on top would only add noise).
        func written(_ key: String) -> Bool {
            guard let n = node[key] else { return false }
            return !(n.sequence?.isEmpty ?? true) || !(n.mapping?.isEmpty ?? true)
        }
        let hasMethods = written("methods")
        let hasHosts = written("hosts")
        let hasHeaders = written("headers")
        let hasPaths = written("paths")
        let hasSnis = written("snis")
        if httpFamily && !(hasMethods || hasHosts || hasHeaders || hasPaths || (hasSnis && protocols.contains(.https)))
        {
            if protocols.contains(.https) {
                r.entityError(
                    "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"
                )
            } else {
                r.entityError("must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'")
            }
        }

        let id =
            explicitID
            ?? (name.map { EntityID.v5(namespace: DeclarativeIDs.routes, name: $0) }
                ?? self.contentID(
                    namespace: DeclarativeIDs.routes,
                    collection: "routes",
                    node: node,
                    excluding: ["plugins", "_comment", "_ignore", "tags"],
                    parent: parent?.id
                ))
        var route = Route(id: id, location: node.location, path: path)
        route.name = name
        route.protocols = protocols
        route.methods = methods
        route.hosts = hosts
        route.paths = paths
        route.pathLocations = pathLocations
        route.headers = headers
        route.snis = snis
        if let stripPath { route.stripPath = stripPath }
        if let preserveHost { route.preserveHost = preserveHost }
        if let regexPriority { route.regexPriority = regexPriority }
        if let pathHandling { route.pathHandling = pathHandling }
        if let redirect { route.httpsRedirectStatusCode = redirect }
        if let requestBuffering { route.requestBuffering = requestBuffering }
        if let responseBuffering { route.responseBuffering = responseBuffering }
        route.service = parent?.id
        route.tags = tags
        let index = self.model.routes.count
        self.model.routes.append(route)
        if let serviceRef { self.pending.append((.routeService(index), serviceRef)) }

        let me = Parent(field: "route", id: id, key: name)
        // Plugins nested under a route (even one nested in a service) are scoped to the route only.
        self.readNestedPlugins(
            pluginsNode,
            path: path.appending("plugins"),
            parents: [me] + (parent.map { [$0] } ?? [])
        )
    }
}

/// Route field rules (kong/db/schema/entities/routes.lua).
public enum RouteRules {
    /// A `hosts` element, as Kong's `typedefs.hosts` checks it (kong/db/schema/typedefs.lua): at
    /// most one `*`, as the whole leftmost or rightmost label; then, with the `*` replaced by `abc`,
    /// a host with an optional port as kong/tools/ip.lua's `normalize_ip` reads it. Messages are
    /// Kong's, including the `abc` it shows in place of the wildcard.
    public static func host(_ v: String) -> String? {
        let stars = v.utf8.count { $0 == UInt8(ascii: "*") }
        if stars > 1 { return "invalid wildcard: must have at most one wildcard" }
        if stars == 1 && !v.hasPrefix("*.") && !v.hasSuffix(".*") {
            return "invalid wildcard: must be placed at leftmost or rightmost label"
        }
        let host = stars == 1 ? v.replacing("*", with: "abc") : v
        return KongIP.hostWithOptionalPort(host)
    }

    public static func sni(_ v: String) -> String? {
        let stars = v.filter { $0 == "*" }.count
        if stars > 1 { return "only one wildcard must be specified" }
        var name = v
        if stars == 1 {
            if v.hasPrefix("*") {
                name = "x" + v.dropFirst()
            } else if v.hasSuffix("*") {
                name = v.dropLast() + "x"
            } else {
                return "wildcard must be leftmost or rightmost character"
            }
        }
        if Validators.isIPv4(name) || Validators.isIPv6(name) { return "must not be an IP" }
        if let hp = Validators.splitHostPort(name), hp.port != nil { return "must not have a port" }
        if Validators.isHostname(name) { return nil }
        return "invalid value: \(Record.printable(v))"
    }

    /// A `paths` element: `/prefix` (already normalised) or `~/regex`.
    public static func path(_ v: String) -> String? {
        if v.hasPrefix("~") {
            guard v.hasPrefix("~/") else { return "should start with: / (fixed path) or ~/ (regex path)" }
            if let message = RegexDialect.check(String(v.dropFirst())) { return message }
            return nil
        }
        guard v.hasPrefix("/") else { return "should start with: / (fixed path) or ~/ (regex path)" }
        if v.contains("//") { return "must not have empty segments" }
        let bytes = Array(v.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, Validators.isHex(bytes[i + 1]), Validators.isHex(bytes[i + 2]) else {
                    let end = min(bytes.count, i + 3)
                    return "invalid url-encoded value: '\(String(decoding: bytes[i..<end], as: UTF8.self))'"
                }
                i += 3
                continue
            }
            i += 1
        }
        let normalized = PathNormalizer.normalize(v)
        if normalized != v { return "non-normalized path, consider use '\(Record.printable(normalized))' instead" }
        return nil
    }

    /// Format 1.1/2.1 paths: plain ones stay prefixes (normalised); anything else becomes a regex.
    public static func migrateLegacyPath(_ v: String) -> String {
        let plain = v.utf8.allSatisfy { c in
            Validators.isAlnum(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
                || c == UInt8(ascii: "~") || c == UInt8(ascii: "/") || c == UInt8(ascii: "%")
        }
        if plain { return PathNormalizer.normalize(v) }
        // Decode unreserved escapes, escaping the regex metacharacters they produce.
        let bytes = Array(v.utf8)
        var out: [UInt8] = [UInt8(ascii: "~")]
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count, let h = PathNormalizer.hexValue(bytes[i + 1]),
                let l = PathNormalizer.hexValue(bytes[i + 2])
            {
                let c = h << 4 | l
                let unreserved =
                    Validators.isAlnum(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
                    || c == UInt8(ascii: "_") || c == UInt8(ascii: "~")
                if unreserved {
                    if c == UInt8(ascii: ".") || c == UInt8(ascii: "-") { out.append(UInt8(ascii: "\\")) }
                    out.append(c)
                    i += 3
                    continue
                }
            }
            out.append(bytes[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
