public import TurnpikeModel

/// The plugins this build knows: an explicit list, no reflection, no self-registration.
public struct PluginRegistry: Sendable {
    /// A type-erased plugin entry.
    public struct Entry: Sendable {
        public let name: String
        public let priority: Int
        public let allowsConsumerScope: Bool
        public let decode:
            @Sendable (ConfigNode?, SourceLocation, FieldPath, PluginScope, Diagnostics) -> (any PluginConfig)?
        /// Makes the instance that runs a decoded config: the phases it conforms to
        /// (`AccessHandler`, `ResponseHandler`, `BodyHandler`, `LogPhaseHandler`) are its phases.
        /// Nil for plugins whose request phases are not implemented yet (an enabled instance of
        /// those is refused at load).
        public let make: (@Sendable (any PluginConfig, PluginStores) -> (any Sendable)?)?

        public init<P: Plugin>(
            _ plugin: P.Type,
            make: (@Sendable (P.Config, PluginStores) -> any Sendable)? = nil
        ) {
            self.name = P.name
            self.priority = P.priority
            self.allowsConsumerScope = P.allowsConsumerScope
            self.decode = { node, location, path, scope, diagnostics in
                P.decode(node, at: location, path: path, scope: scope, diagnostics: diagnostics)
            }
            if let make {
                self.make = { config, stores in
                    guard let config = config as? P.Config else { return nil }
                    return make(config, stores)
                }
            } else {
                self.make = nil
            }
        }
    }

    public let entries: [Entry]
    /// The consumer-owned collections the plugins declare (credentials, ACL groups), in the
    /// order `render` writes them: one line per kind, the kind itself in its plugin's folder.
    public let credentialKinds: [any CredentialKind.Type]
    private let byName: [String: Int]

    public init(entries: [Entry], credentialKinds: [any CredentialKind.Type] = []) {
        self.entries = entries
        self.credentialKinds = credentialKinds
        var byName: [String: Int] = [:]
        for (i, e) in entries.enumerated() { byName[e.name] = i }
        self.byName = byName
    }

    public static let builtIn = PluginRegistry(
        entries: [
            Entry(CorrelationIDPlugin.self) { config, stores in CorrelationIDPlugin(config: config, stores: stores) },
            Entry(BotDetectionPlugin.self) { config, _ in BotDetectionPlugin(config: config) },
            Entry(CORSPlugin.self) { config, _ in CORSPlugin(config: config) },
            Entry(JWTPlugin.self) { config, _ in JWTPlugin(config: config) },
            Entry(KeyAuthPlugin.self) { config, _ in KeyAuthPlugin(config: config) },
            Entry(BasicAuthPlugin.self) { config, _ in BasicAuthPlugin(config: config) },
            Entry(HMACAuthPlugin.self) { config, _ in HMACAuthPlugin(config: config) },
            Entry(ACLPlugin.self) { config, _ in ACLPlugin(config: config) },
            Entry(IPRestrictionPlugin.self) { config, _ in IPRestrictionPlugin(config: config) },
            Entry(RequestSizeLimitingPlugin.self) { config, _ in RequestSizeLimitingPlugin(config: config) },
            Entry(RequestTerminationPlugin.self) { config, _ in RequestTerminationPlugin(config: config) },
            Entry(RateLimitingPlugin.self) { config, stores in RateLimitingPlugin(config: config, stores: stores) },
            Entry(ResponseRateLimitingPlugin.self) { config, stores in
                ResponseRateLimitingPlugin(config: config, stores: stores)
            },
            Entry(ProxyCachePlugin.self) { config, stores in ProxyCachePlugin(config: config, stores: stores) },
            Entry(RequestTransformerPlugin.self) { config, _ in RequestTransformerPlugin(config: config) },
            Entry(ResponseTransformerPlugin.self) { config, _ in ResponseTransformerPlugin(config: config) },
        ],
        credentialKinds: [
            KeyAuthCredential.self, BasicAuthCredential.self, JWTSecret.self, HMACAuthCredential.self, ACLGroup.self,
        ]
    )

    public func entry(named name: String) -> Entry? {
        self.byName[name].map { self.entries[$0] }
    }

    /// Plugins bundled with Kong OSS 3.x that turnpike does not implement yet: rejected with a
    /// clear message rather than Kong's "not enabled", and never silently ignored.
    public static let kongBundled: Set<String> = [
        "acl", "acme", "ai-azure-content-safety", "ai-prompt-decorator", "ai-prompt-guard", "ai-prompt-template",
        "ai-proxy", "ai-request-transformer", "ai-response-transformer", "aws-lambda", "azure-functions",
        "basic-auth", "bot-detection", "correlation-id", "cors", "datadog", "file-log", "grpc-gateway", "grpc-web",
        "hmac-auth", "http-log", "ip-restriction", "jwt", "key-auth", "ldap-auth", "loggly", "oauth2",
        "opentelemetry", "post-function", "pre-function", "prometheus", "proxy-cache", "rate-limiting", "redirect",
        "request-size-limiting", "request-termination", "request-transformer", "response-ratelimiting",
        "response-transformer", "session", "standard-webhooks", "statsd", "syslog", "tcp-log", "udp-log", "zipkin",
    ]

    /// Kong plugins that write to Kong's database as they run: a DB-less node cannot serve them.
    /// Kong itself loads their config in DB-less mode and fails every request that would write
    /// (oauth2's token endpoint answers 500, `cannot create 'oauth2_tokens' entities when not
    /// using a database`); turnpike refuses the config instead.
    public static let databaseOnly: [String: String] = [
        "oauth2": "it issues tokens into Kong's database (oauth2_tokens), which a DB-less node does not have"
    ]

    /// Kong's message for a name it does not know, or ours for a Kong plugin we lack.
    public func unknownNameMessage(_ name: String) -> String {
        if let reason = Self.databaseOnly[name] {
            return "plugin '\(name)' cannot run without a database: \(reason)"
        }
        if Self.kongBundled.contains(name) {
            return "plugin '\(Record.printable(name))' is not supported by turnpike (supported: "
                + self.entries.map(\.name).sorted().joined(separator: ", ") + ")"
        }
        return "plugin '\(Record.printable(name))' not enabled; add it to the 'plugins' configuration property"
    }
}
