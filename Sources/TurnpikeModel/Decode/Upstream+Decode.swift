extension DeclarativeDecoder {
    static let algorithms = ["consistent-hashing", "least-connections", "round-robin", "latency"]
    static let hashInputs = ["none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture"]

    func readUpstream(_ node: ConfigNode, path: FieldPath) {
        guard var r = Record(node, path: path, diagnostics: self.diagnostics) else { return }
        r.extras()
        self.skipTimestamps(&r)
        let explicitID = self.readID(&r)
        let tags = self.readTags(&r)
        var name: String?
        if let nameNode = r.value("name", required: true),
            let s = Record.string(nameNode, path: r.fieldPath("name"), diagnostics: self.diagnostics)
        {
            if let message = Self.upstreamName(s) {
                r.error(message, key: "name", node: nameNode)
            } else {
                name = s
            }
        }
        var algorithm = r.oneOf("algorithm", Self.algorithms)
        let hashOnGiven = r.has("hash_on") && !r.isNull("hash_on")
        var hashOn = r.oneOf("hash_on", Self.hashInputs)
        let hashFallback = r.oneOf("hash_fallback", Self.hashInputs)
        let hashOnHeader = self.readHeaderName(&r, "hash_on_header")
        let hashFallbackHeader = self.readHeaderName(&r, "hash_fallback_header")
        let hashOnCookie = r.string("hash_on_cookie")
        var cookiePath: String?
        if let n = r.value("hash_on_cookie_path"),
            let p = Record.string(n, path: r.fieldPath("hash_on_cookie_path"), diagnostics: self.diagnostics)
        {
            if let message = Validators.path(p) {
                r.error(message, key: "hash_on_cookie_path", node: n)
            } else {
                cookiePath = p
            }
        }
        let hashOnQueryArg = r.string("hash_on_query_arg")
        let hashFallbackQueryArg = r.string("hash_fallback_query_arg")
        let hashOnCapture = r.string("hash_on_uri_capture")
        let hashFallbackCapture = r.string("hash_fallback_uri_capture")
        let slots = r.integer("slots", in: 10...65536)
        var hostHeader: String?
        if let n = r.value("host_header"),
            let h = Record.string(n, path: r.fieldPath("host_header"), diagnostics: self.diagnostics)
        {
            if let hp = Validators.splitHostPort(h), Validators.host(hp.host) == nil {
                hostHeader = h
            } else {
                r.error("invalid value: \(Record.printable(h))", key: "host_header", node: n)
            }
        }
        let useSrvName = r.bool("use_srv_name")
        if let n = r.value("client_certificate") {
            r.error("'client_certificate' is not supported by turnpike", key: "client_certificate", node: n)
        }
        var healthchecks = Healthchecks()
        if let n = r.value("healthchecks") {
            healthchecks = HealthchecksDecoder(diagnostics: self.diagnostics).decode(
                n,
                path: r.fieldPath("healthchecks")
            )
        }
        let targetsNode = r.take("targets")
        r.finish(allowExtras: true)

        // Kong's shorthand coupling between algorithm and hash_on (kong/db/schema/entities/upstreams.lua).
        if algorithm == "least-connections" || algorithm == "latency" { hashOn = nil }
        if hashOnGiven, let h = hashOn { algorithm = h == "none" ? "round-robin" : "consistent-hashing" }
        let on = hashOn ?? "none"
        let fallback = hashFallback ?? "none"
        if (on == "none" || on == "cookie") && fallback != "none" {
            r.error("expected one of: none", key: "hash_fallback")
        } else if ["consumer", "ip", "path"].contains(on) && fallback == on {
            let others = Self.hashInputs.filter { $0 != on }
            r.error("expected one of: " + others.joined(separator: ", "), key: "hash_fallback")
        }
        if on == "header" && hashOnHeader == nil { r.error("required field missing", key: "hash_on_header") }
        if fallback == "header" && hashFallbackHeader == nil {
            r.error("required field missing", key: "hash_fallback_header")
        }
        if (on == "cookie" || fallback == "cookie") && hashOnCookie == nil {
            r.error("required field missing", key: "hash_on_cookie")
        }
        if on == "query_arg" && hashOnQueryArg == nil { r.error("required field missing", key: "hash_on_query_arg") }
        if fallback == "query_arg" && hashFallbackQueryArg == nil {
            r.error("required field missing", key: "hash_fallback_query_arg")
        }
        if on == "uri_capture" && hashOnCapture == nil { r.error("required field missing", key: "hash_on_uri_capture") }
        if fallback == "uri_capture" && hashFallbackCapture == nil {
            r.error("required field missing", key: "hash_fallback_uri_capture")
        }
        if let a = hashOnHeader, let b = hashFallbackHeader, a.lowercased() == b.lowercased() {
            r.entityError("values of these fields must be distinct: 'hash_on_header', 'hash_fallback_header'")
        }
        if let a = hashOnQueryArg, let b = hashFallbackQueryArg, a == b {
            r.entityError("values of these fields must be distinct: 'hash_on_query_arg', 'hash_fallback_query_arg'")
        }
        if let a = hashOnCapture, let b = hashFallbackCapture, a == b {
            r.entityError("values of these fields must be distinct: 'hash_on_uri_capture', 'hash_fallback_uri_capture'")
        }

        let id =
            explicitID
            ?? (name.map { EntityID.v5(namespace: DeclarativeIDs.upstreams, name: $0) }
                ?? self.contentID(
                    namespace: DeclarativeIDs.upstreams,
                    collection: "upstreams",
                    node: node,
                    excluding: ["targets", "_comment", "_ignore", "tags"],
                    parent: nil
                ))
        var upstream = Upstream(id: id, name: name ?? "", location: node.location, path: path)
        upstream.algorithm = algorithm ?? "round-robin"
        upstream.hashOn = on
        upstream.hashFallback = fallback
        upstream.hashOnHeader = hashOnHeader
        upstream.hashFallbackHeader = hashFallbackHeader
        upstream.hashOnCookie = hashOnCookie
        if let cookiePath { upstream.hashOnCookiePath = cookiePath }
        upstream.hashOnQueryArg = hashOnQueryArg
        upstream.hashFallbackQueryArg = hashFallbackQueryArg
        upstream.hashOnURICapture = hashOnCapture
        upstream.hashFallbackURICapture = hashFallbackCapture
        if let slots { upstream.slots = slots }
        upstream.healthchecks = healthchecks
        upstream.hostHeader = hostHeader
        if let useSrvName { upstream.useSrvName = useSrvName }
        upstream.tags = tags
        self.model.upstreams.append(upstream)

        let parent = Parent(field: "upstream", id: id, key: name)
        if let targetsNode, !targetsNode.isNull,
            let list = Record.array(
                targetsNode,
                path: path.appending("targets"),
                diagnostics: self.diagnostics,
                element: { n, _ in n }
            )
        {
            for (i, item) in list.enumerated() {
                self.readTarget(item, path: path.appending("targets").index(i), parent: parent)
            }
        }
    }

    func readHeaderName(_ r: inout Record, _ key: String) -> String? {
        guard let n = r.value(key), let s = Record.string(n, path: r.fieldPath(key), diagnostics: self.diagnostics)
        else { return nil }
        if let message = Validators.headerName(s) {
            r.error(message, key: key, node: n)
            return nil
        }
        return s
    }

    static func upstreamName(_ v: String) -> String? {
        if Validators.isIPv4(v) || Validators.isIPv6(v) {
            return "Invalid name ('\(Record.printable(v))'); no ip addresses allowed"
        }
        if let hp = Validators.splitHostPort(v), hp.port != nil {
            return "Invalid name ('\(Record.printable(v))'); no port allowed"
        }
        if Validators.isHostname(v) { return nil }
        return "Invalid name ('\(Record.printable(v))'); must be a valid hostname"
    }

    func readTarget(_ node: ConfigNode, path: FieldPath, parent: Parent?) {
        guard var r = Record(node, path: path, diagnostics: self.diagnostics) else { return }
        r.extras()
        self.skipTimestamps(&r)
        let explicitID = self.readID(&r)
        var upstreamRef: Reference?
        if let parent {
            self.checkRestatedParent(&r, parent: parent)
        } else {
            upstreamRef = self.readReference(&r, key: "upstream", required: true)
        }
        var written: String?
        var normalized: String?
        if let n = r.value("target", required: true),
            let t = Record.string(n, path: r.fieldPath("target"), diagnostics: self.diagnostics)
        {
            if let norm = Self.normalizeTarget(t) {
                written = t
                normalized = norm
            } else {
                r.error(
                    "Invalid target ('\(Record.printable(t))'); not a valid hostname or ip address",
                    key: "target",
                    node: n
                )
            }
        }
        let weight = r.integer("weight", in: 0...65535)
        let tags = self.readTags(&r)
        r.finish(allowExtras: true)

        let upstreamPart = parent?.id.description ?? upstreamRef?.idPart ?? ""
        let id =
            explicitID
            ?? EntityID.v5(namespace: DeclarativeIDs.targets, name: "targets:*:\(upstreamPart):\(written ?? "")")
        var target = Target(
            id: id,
            upstream: parent?.id ?? .zero,
            target: normalized ?? "",
            location: node.location,
            path: path
        )
        if let weight { target.weight = weight }
        target.tags = tags
        let index = self.model.targets.count
        self.model.targets.append(target)
        if let upstreamRef { self.pending.append((.targetUpstream(index), upstreamRef)) }
    }

    /// `host[:port]` with Kong's default target port 8000; IPv6 in brackets.
    static func normalizeTarget(_ v: String) -> String? {
        guard let hp = Validators.splitHostPort(v) else { return nil }
        let port = hp.port ?? 8000
        if Validators.isIPv6(hp.host) { return "[\(hp.host)]:\(port)" }
        guard Validators.isIPv4(hp.host) || Validators.isHostname(hp.host) else { return nil }
        return "\(hp.host):\(port)"
    }
}

/// Reads an upstream's `healthchecks` record, filling Kong's defaults.
struct HealthchecksDecoder {
    let diagnostics: Diagnostics

    func decode(_ node: ConfigNode, path: FieldPath) -> Healthchecks {
        var out = Healthchecks()
        guard var r = Record(node, path: path, diagnostics: self.diagnostics) else { return out }
        if let n = r.value("active"), var a = Record(n, path: r.fieldPath("active"), diagnostics: self.diagnostics) {
            if let t = a.oneOf("type", ["tcp", "http", "https", "grpc", "grpcs"]) { out.active.type = t }
            if let t = self.seconds(&a, "timeout") { out.active.timeout = t }
            if let c = a.integer("concurrency", in: 1...2_147_483_648) { out.active.concurrency = c }
            if let p = a.string("http_path") {
                if let message = Validators.path(p) {
                    a.error(message, key: "http_path")
                } else {
                    out.active.httpPath = p
                }
            }
            out.active.httpsSNI = a.string("https_sni")
            if let v = a.bool("https_verify_certificate") { out.active.httpsVerifyCertificate = v }
            if let h = a.value("headers") {
                if let entries = h.mapping {
                    out.active.headers = entries.compactMap { entry in
                        let p = a.fieldPath("headers").appending(Record.printable(entry.name))
                        guard
                            let values = Record.array(
                                entry.value,
                                path: p,
                                diagnostics: self.diagnostics,
                                element: { n, p in
                                    Record.string(n, path: p, diagnostics: self.diagnostics)
                                }
                            )
                        else { return nil }
                        return Healthchecks.HeaderValues(name: entry.name, values: values)
                    }
                } else {
                    a.error("expected a map", key: "headers", node: h)
                }
            }
            if let n = a.value("healthy") {
                out.active.healthy = self.healthy(
                    n,
                    path: a.fieldPath("healthy"),
                    base: out.active.healthy,
                    active: true
                )
            }
            if let n = a.value("unhealthy") {
                out.active.unhealthy = self.unhealthy(
                    n,
                    path: a.fieldPath("unhealthy"),
                    base: out.active.unhealthy,
                    active: true
                )
            }
            a.finish()
        }
        if let n = r.value("passive"), var p = Record(n, path: r.fieldPath("passive"), diagnostics: self.diagnostics) {
            if let t = p.oneOf("type", ["tcp", "http", "https", "grpc", "grpcs"]) { out.passive.type = t }
            if let n = p.value("healthy") {
                out.passive.healthy = self.healthy(
                    n,
                    path: p.fieldPath("healthy"),
                    base: out.passive.healthy,
                    active: false
                )
            }
            if let n = p.value("unhealthy") {
                out.passive.unhealthy = self.unhealthy(
                    n,
                    path: p.fieldPath("unhealthy"),
                    base: out.passive.unhealthy,
                    active: false
                )
            }
            p.finish()
        }
        if let n = r.value("threshold") {
            if let t = n.number, t >= 0, t <= 100 {
                out.threshold = t
            } else if n.number == nil {
                r.error("expected a number", key: "threshold", node: n)
            } else {
                r.error("value should be between 0 and 100", key: "threshold", node: n)
            }
        }
        r.finish()
        return out
    }

    func seconds(_ r: inout Record, _ key: String) -> Double? {
        guard let n = r.value(key) else { return nil }
        guard let d = n.number else {
            r.error("expected a number", key: key, node: n)
            return nil
        }
        guard d >= 0, d <= 65535 else {
            r.error("value should be between 0 and 65535", key: key, node: n)
            return nil
        }
        return d
    }

    func statuses(_ r: inout Record) -> [Int]? {
        let diagnostics = self.diagnostics
        return r.array("http_statuses") { n, p in Record.integer(n, path: p, diagnostics: diagnostics, in: 100...999) }
    }

    func healthy(_ node: ConfigNode, path: FieldPath, base: Healthchecks.Healthy, active: Bool) -> Healthchecks.Healthy
    {
        var out = base
        guard var r = Record(node, path: path, diagnostics: self.diagnostics) else { return out }
        if active, let i = self.seconds(&r, "interval") { out.interval = i }
        if let s = self.statuses(&r) { out.httpStatuses = s }
        if let s = r.integer("successes", in: 0...255) { out.successes = s }
        r.finish()
        return out
    }

    func unhealthy(
        _ node: ConfigNode,
        path: FieldPath,
        base: Healthchecks.Unhealthy,
        active: Bool
    ) -> Healthchecks.Unhealthy {
        var out = base
        guard var r = Record(node, path: path, diagnostics: self.diagnostics) else { return out }
        if active, let i = self.seconds(&r, "interval") { out.interval = i }
        if let s = self.statuses(&r) { out.httpStatuses = s }
        if let v = r.integer("tcp_failures", in: 0...255) { out.tcpFailures = v }
        if let v = r.integer("timeouts", in: 0...255) { out.timeouts = v }
        if let v = r.integer("http_failures", in: 0...255) { out.httpFailures = v }
        r.finish()
        return out
    }
}
