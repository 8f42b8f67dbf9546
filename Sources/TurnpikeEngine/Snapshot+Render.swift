public import TurnpikeModel
import TurnpikePlugins

extension Snapshot {
    /// The config the engine runs, in Kong's flat declarative form: defaults filled, ids
    /// assigned, references as ids, file order kept. Credential secrets are redacted, so the
    /// output is safe to paste into a ticket (and is not meant to be loaded back as is).
    public func rendered() -> Rendered {
        let m = self.model
        var top: [(String, Rendered)] = [("_format_version", .string("3.0"))]
        func add(_ key: String, _ items: [Rendered]) {
            if !items.isEmpty { top.append((key, .array(items))) }
        }
        add("services", m.services.map(Self.render))
        add("routes", m.routes.map(Self.render))
        add("consumers", m.consumers.map(Self.render))
        for list in m.credentials.lists {
            add(list.kind.collection, (0..<list.count).map { list.rendered(at: $0) })
        }
        add("plugins", self.plugins.map(Self.render))
        add("upstreams", m.upstreams.map(Self.render))
        add("targets", m.targets.map(Self.render))
        add("ca_certificates", m.caCertificates.map(Self.render))
        add("certificates", m.certificates.map(Self.render))
        add("snis", m.snis.map(Self.render))
        return .object(top)
    }

    /// What every secret is printed as.
    public static let redacted = Rendered.redacted

    public static func render(_ s: Service) -> Rendered {
        .object([
            ("id", .id(s.id)),
            ("name", .optional(s.name)),
            ("protocol", .string(s.protocol.rawValue)),
            ("host", .string(s.host)),
            ("port", .integer(s.port)),
            ("path", .optional(s.path)),
            ("retries", .integer(s.retries)),
            ("connect_timeout", .integer(s.connectTimeout)),
            ("write_timeout", .integer(s.writeTimeout)),
            ("read_timeout", .integer(s.readTimeout)),
            ("enabled", .bool(s.enabled)),
            ("tls_verify", .optional(s.tlsVerify)),
            ("tls_verify_depth", .optional(s.tlsVerifyDepth)),
            ("ca_certificates", .strings(s.caCertificates?.map(\.description))),
            ("client_certificate", s.clientCertificate.map { .object([("id", .id($0))]) } ?? .null),
            ("tags", .strings(s.tags)),
        ])
    }

    public static func render(_ r: Route) -> Rendered {
        let headers: Rendered = r.headers.map { list in .object(list.map { ($0.name, .strings($0.values)) }) } ?? .null
        return .object([
            ("id", .id(r.id)),
            ("name", .optional(r.name)),
            ("service", .id(r.service)),
            ("protocols", .strings(r.protocols.map(\.rawValue))),
            ("methods", .strings(r.methods)),
            ("hosts", .strings(r.hosts)),
            ("paths", .strings(r.paths)),
            ("headers", headers),
            ("snis", .strings(r.snis)),
            // Kong's schema has them on every route; HTTP routes cannot set them (null).
            ("sources", .null),
            ("destinations", .null),
            ("strip_path", .bool(r.stripPath)),
            ("preserve_host", .bool(r.preserveHost)),
            ("regex_priority", .integer(r.regexPriority)),
            ("path_handling", .string(r.pathHandling)),
            ("https_redirect_status_code", .integer(r.httpsRedirectStatusCode)),
            ("request_buffering", .bool(r.requestBuffering)),
            ("response_buffering", .bool(r.responseBuffering)),
            ("tags", .strings(r.tags)),
        ])
    }

    public static func render(_ c: Consumer) -> Rendered {
        .object([
            ("id", .id(c.id)),
            ("username", .optional(c.username)),
            ("custom_id", .optional(c.customID)),
            ("tags", .strings(c.tags)),
        ])
    }

    public static func render(_ p: ConfiguredPlugin) -> Rendered {
        let i = p.instance
        return .object([
            ("id", .id(i.id)),
            ("name", .string(i.name)),
            ("instance_name", .optional(i.instanceName)),
            ("service", .id(i.service)),
            ("route", .id(i.route)),
            ("consumer", .id(i.consumer)),
            ("config", p.config.rendered()),
            ("protocols", .strings(i.protocols.map(\.rawValue))),
            ("enabled", .bool(i.enabled)),
            ("tags", .strings(i.tags)),
        ])
    }

    public static func render(_ u: Upstream) -> Rendered {
        .object([
            ("id", .id(u.id)),
            ("name", .string(u.name)),
            ("algorithm", .string(u.algorithm)),
            ("hash_on", .string(u.hashOn)),
            ("hash_fallback", .string(u.hashFallback)),
            ("hash_on_header", .optional(u.hashOnHeader)),
            ("hash_fallback_header", .optional(u.hashFallbackHeader)),
            ("hash_on_cookie", .optional(u.hashOnCookie)),
            ("hash_on_cookie_path", .string(u.hashOnCookiePath)),
            ("hash_on_query_arg", .optional(u.hashOnQueryArg)),
            ("hash_fallback_query_arg", .optional(u.hashFallbackQueryArg)),
            ("hash_on_uri_capture", .optional(u.hashOnURICapture)),
            ("hash_fallback_uri_capture", .optional(u.hashFallbackURICapture)),
            ("slots", .integer(u.slots)),
            ("healthchecks", Self.render(u.healthchecks)),
            ("host_header", .optional(u.hostHeader)),
            ("use_srv_name", .bool(u.useSrvName)),
            ("tags", .strings(u.tags)),
        ])
    }

    static func render(_ h: Healthchecks) -> Rendered {
        func statuses(_ s: [Int]) -> Rendered { .array(s.map(Rendered.integer)) }
        func seconds(_ d: Double?) -> Rendered {
            guard let d else { return .null }
            return d.rounded() == d ? .integer(Int(d)) : .number(d)
        }
        let headers: Rendered =
            h.active.headers.map { list in .object(list.map { ($0.name, .strings($0.values)) }) } ?? .null
        return .object([
            (
                "active",
                .object([
                    ("type", .string(h.active.type)),
                    ("timeout", seconds(h.active.timeout)),
                    ("concurrency", .integer(h.active.concurrency)),
                    ("http_path", .string(h.active.httpPath)),
                    ("https_sni", .optional(h.active.httpsSNI)),
                    ("https_verify_certificate", .bool(h.active.httpsVerifyCertificate)),
                    ("headers", headers),
                    (
                        "healthy",
                        .object([
                            ("interval", seconds(h.active.healthy.interval)),
                            ("http_statuses", statuses(h.active.healthy.httpStatuses)),
                            ("successes", .integer(h.active.healthy.successes)),
                        ])
                    ),
                    (
                        "unhealthy",
                        .object([
                            ("interval", seconds(h.active.unhealthy.interval)),
                            ("http_statuses", statuses(h.active.unhealthy.httpStatuses)),
                            ("tcp_failures", .integer(h.active.unhealthy.tcpFailures)),
                            ("timeouts", .integer(h.active.unhealthy.timeouts)),
                            ("http_failures", .integer(h.active.unhealthy.httpFailures)),
                        ])
                    ),
                ])
            ),
            (
                "passive",
                .object([
                    ("type", .string(h.passive.type)),
                    (
                        "healthy",
                        .object([
                            ("http_statuses", statuses(h.passive.healthy.httpStatuses)),
                            ("successes", .integer(h.passive.healthy.successes)),
                        ])
                    ),
                    (
                        "unhealthy",
                        .object([
                            ("http_statuses", statuses(h.passive.unhealthy.httpStatuses)),
                            ("tcp_failures", .integer(h.passive.unhealthy.tcpFailures)),
                            ("timeouts", .integer(h.passive.unhealthy.timeouts)),
                            ("http_failures", .integer(h.passive.unhealthy.httpFailures)),
                        ])
                    ),
                ])
            ),
            ("threshold", seconds(h.threshold)),
        ])
    }

    /// A CA certificate is public material: shown in full, as Kong shows it.
    public static func render(_ c: CACertificate) -> Rendered {
        .object([
            ("id", .id(c.id)),
            ("cert", .string(c.cert)),
            ("cert_digest", .string(c.certDigest)),
            ("tags", .strings(c.tags)),
        ])
    }

    /// The private key never appears: `<redacted>` stands in its place.
    public static func render(_ c: TLSCertificate) -> Rendered {
        .object([
            ("id", .id(c.id)),
            ("cert", .string(c.cert)),
            ("key", .string(Self.redacted)),
            ("cert_alt", .optional(c.alternative?.cert)),
            ("key_alt", c.alternative == nil ? .null : .string(Self.redacted)),
            ("tags", .strings(c.tags)),
        ])
    }

    public static func render(_ s: SNI) -> Rendered {
        .object([
            ("id", .id(s.id)),
            ("name", .string(s.name)),
            ("certificate", .object([("id", .id(s.certificate))])),
            ("tags", .strings(s.tags)),
        ])
    }

    public static func render(_ t: Target) -> Rendered {
        .object([
            ("id", .id(t.id)),
            ("upstream", .id(t.upstream)),
            ("target", .string(t.target)),
            ("weight", .integer(t.weight)),
            ("tags", .strings(t.tags)),
        ])
    }
}

extension Snapshot {
    /// Kong's entity shape from a flat rendering: foreign keys (`foreignKeys`) as `{"id": …}`, and
    /// `created_at`/`updated_at` set to the load time (DB-less entities have no other); `millis`
    /// for the entities Kong stamps with fractions (targets).
    public func kongShape(_ flat: Rendered, foreignKeys: Set<String>, millis: Bool = false) -> Rendered {
        guard case .object(let fields) = flat else { return flat }
        var out: [(String, Rendered)] = []
        out.reserveCapacity(fields.count + 2)
        for (key, value) in fields {
            if foreignKeys.contains(key), case .string(let id) = value {
                out.append((key, .object([("id", .string(id))])))
            } else {
                out.append((key, value))
            }
        }
        let stamp: Rendered = millis ? .number(Double(self.loadedAt)) : .integer(self.loadedAt)
        out.append(("created_at", stamp))
        out.append(("updated_at", stamp))
        return .object(out)
    }

    public func kongEntity(route id: EntityID) -> Rendered? {
        self.route(id: id).map { self.kongShape(Self.render($0), foreignKeys: ["service"]) }
    }

    public func kongEntity(service id: EntityID) -> Rendered? {
        self.service(id: id).map { self.kongShape(Self.render($0), foreignKeys: []) }
    }
}
