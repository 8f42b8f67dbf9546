extension DeclarativeDecoder {
    func readService(_ node: ConfigNode, path: FieldPath) {
        guard var r = Record(node, path: path, diagnostics: self.diagnostics) else { return }
        r.extras()
        self.skipTimestamps(&r)
        let explicitID = self.readID(&r)
        let name = self.readName(&r)
        let tags = self.readTags(&r)

        var proto: EntityProtocol?
        var host: String?
        var port: Int?
        var servicePath: String?
        var pathGiven = false

        if let urlNode = r.value("url"),
            let url = Record.string(urlNode, path: r.fieldPath("url"), diagnostics: self.diagnostics)
        {
            // `url` replaces protocol, host, port and path, even when those are given too.
            _ = r.take("protocol")
            _ = r.take("host")
            _ = r.take("port")
            _ = r.take("path")
            switch ServiceURL.parse(url) {
            case .failure(let message):
                r.error(message, key: "url", node: urlNode)
            case .success(let parsed):
                if let p = EntityProtocol(rawValue: parsed.scheme) {
                    proto = p
                } else {
                    r.error(EntityProtocol.messageList, key: "url", node: urlNode)
                }
                if let message = Validators.host(parsed.host) {
                    r.error(message, key: "url", node: urlNode)
                } else {
                    host = parsed.host
                }
                port = parsed.port
                if let p = parsed.path {
                    if let message = Validators.path(p) {
                        r.error(message, key: "url", node: urlNode)
                    } else {
                        servicePath = p
                    }
                    pathGiven = true
                }
            }
        } else {
            if let p = r.oneOf("protocol", EntityProtocol.allCases.map(\.rawValue)) {
                proto = EntityProtocol(rawValue: p)
            }
            if let hostNode = r.value("host", required: true),
                let h = Record.string(hostNode, path: r.fieldPath("host"), diagnostics: self.diagnostics)
            {
                if let message = Validators.host(h) {
                    r.error(message, key: "host", node: hostNode)
                } else {
                    host = h
                }
            }
            if r.has("port") && r.isNull("port") {
                r.error("required field missing", key: "port", node: r.take("port"))
            } else {
                port = r.integer("port", in: 0...65535)
            }
            if let pathNode = r.value("path"),
                let p = Record.string(pathNode, path: r.fieldPath("path"), diagnostics: self.diagnostics)
            {
                if let message = Validators.path(p) {
                    r.error(message, key: "path", node: pathNode)
                } else {
                    servicePath = p
                }
                pathGiven = true
            }
        }

        let retries = r.integer("retries", in: 0...32767)
        let connect = r.integer("connect_timeout", in: 1...2_147_483_646)
        let write = r.integer("write_timeout", in: 1...2_147_483_646)
        let read = r.integer("read_timeout", in: 1...2_147_483_646)
        let enabled = r.bool("enabled")
        let tlsVerifyNode = r.has("tls_verify") && !r.isNull("tls_verify")
        let tlsVerify = r.bool("tls_verify")
        let depthNode = r.has("tls_verify_depth") && !r.isNull("tls_verify_depth")
        let tlsDepth = r.integer("tls_verify_depth", in: 0...64)
        let caGiven = r.has("ca_certificates") && !r.isNull("ca_certificates")
        let diagnostics = self.diagnostics
        let caCertificates = r.array("ca_certificates") { node, path -> EntityID? in
            guard let s = Record.string(node, path: path, diagnostics: diagnostics) else { return nil }
            guard let id = EntityID(s) else {
                diagnostics.add("expected a valid UUID", node: node, path: path.text)
                return nil
            }
            return id
        }
        let clientCertificateGiven = r.has("client_certificate") && !r.isNull("client_certificate")
        let clientCertificateRef = self.readReference(&r, key: "client_certificate")

        let routesNode = r.take("routes")
        let pluginsNode = r.take("plugins")
        r.finish(allowExtras: true)

        let p = proto ?? .http
        // Conditional rules on `protocol` (Kong's entity checks).
        var conditionalFailed = false
        if pathGiven, [.tcp, .tls, .udp, .grpc, .grpcs].contains(p) {
            r.error("value must be null", key: "path")
            conditionalFailed = true
        }
        if p != .https && p != .tls {
            for (given, key) in [
                (tlsVerifyNode, "tls_verify"), (depthNode, "tls_verify_depth"), (caGiven, "ca_certificates"),
                (clientCertificateGiven, "client_certificate"),
            ] where given {
                r.error("value must be null", key: key)
                conditionalFailed = true
            }
        }
        if conditionalFailed { r.entityError("failed conditional validation given value of field 'protocol'") }

        let id =
            explicitID
            ?? (name.map { EntityID.v5(namespace: DeclarativeIDs.services, name: $0) }
                ?? self.contentID(
                    namespace: DeclarativeIDs.services,
                    collection: "services",
                    node: node,
                    excluding: ["routes", "plugins", "_comment", "_ignore", "tags"],
                    parent: nil
                ))
        var service = Service(id: id, host: host ?? "", location: node.location, path: path)
        service.name = name
        service.protocol = p
        service.port = port ?? 80
        service.path = servicePath
        if let retries { service.retries = retries }
        if let connect { service.connectTimeout = connect }
        if let write { service.writeTimeout = write }
        if let read { service.readTimeout = read }
        if let enabled { service.enabled = enabled }
        service.tlsVerify = tlsVerify
        service.tlsVerifyDepth = tlsDepth
        service.caCertificates = caCertificates
        service.tags = tags
        if let clientCertificateRef {
            self.pending.append((.serviceClientCertificate(self.model.services.count), clientCertificateRef))
        }
        self.model.services.append(service)

        let parent = Parent(field: "service", id: id, key: name)
        if let routesNode, !routesNode.isNull,
            let routes = Record.array(
                routesNode,
                path: path.appending("routes"),
                diagnostics: self.diagnostics,
                element: { n, _ in n }
            )
        {
            for (i, item) in routes.enumerated() {
                self.readRoute(item, path: path.appending("routes").index(i), parent: parent)
            }
        }
        self.readNestedPlugins(pluginsNode, path: path.appending("plugins"), parents: [parent])
    }

    func readNestedPlugins(_ node: ConfigNode?, path: FieldPath, parents: [Parent]) {
        guard let node, !node.isNull,
            let items = Record.array(node, path: path, diagnostics: self.diagnostics, element: { n, _ in n })
        else { return }
        for (i, item) in items.enumerated() {
            self.readPlugin(item, path: path.index(i), parents: parents)
        }
    }
}

/// Kong's service `url` shorthand.
enum ServiceURL {
    struct Parts {
        var scheme: String
        var host: String
        var port: Int
        var path: String?
    }

    enum Result {
        case success(Parts)
        case failure(String)
    }

    static func parse(_ url: String) -> Result {
        var rest = Substring(url)
        var scheme: String?
        if let r = rest.firstRange(of: "://") {
            scheme = rest[..<r.lowerBound].lowercased()
            rest = rest[r.upperBound...]
        }
        if let q = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<q] }
        var path: String?
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        guard !rest.isEmpty else { return .failure("missing host in url") }
        guard let hp = Validators.splitHostPort(String(rest)) else { return .failure("invalid port in url") }
        guard !hp.host.isEmpty else { return .failure("missing host in url") }
        let resolvedScheme = scheme ?? (hp.port == 443 ? "https" : "http")
        let port = hp.port ?? (resolvedScheme == "https" ? 443 : 80)
        return .success(Parts(scheme: resolvedScheme, host: hp.host, port: port, path: path))
    }
}
