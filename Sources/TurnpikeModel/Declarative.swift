/// A whole Kong declarative config, flattened (nested entities moved to their collections),
/// with every id assigned and every reference resolved to an id.
public struct Declarative: Sendable {
    public var formatVersion: String = "3.0"
    public var transform: Bool = true
    public var services: [Service] = []
    public var routes: [Route] = []
    public var consumers: [Consumer] = []
    /// Credentials (and ACL groups), one list per kind the plugin registry declares.
    public var credentials: CredentialSets
    public var plugins: [PluginInstance] = []
    public var upstreams: [Upstream] = []
    public var targets: [Target] = []
    public var caCertificates: [CACertificate] = []
    public var certificates: [TLSCertificate] = []
    public var snis: [SNI] = []

    public init(credentialKinds: [any CredentialKind.Type] = []) {
        self.credentials = CredentialSets(kinds: credentialKinds)
    }

    /// True when the file declares no entity at all (Kong's hash is then all zeros).
    public var isEmpty: Bool {
        self.services.isEmpty && self.routes.isEmpty && self.consumers.isEmpty && self.plugins.isEmpty
            && self.upstreams.isEmpty && self.targets.isEmpty && self.credentials.isEmpty
            && self.caCertificates.isEmpty && self.certificates.isEmpty && self.snis.isEmpty
    }

    /// Decodes and cross-checks a parsed file, throwing every problem found. `credentialKinds`
    /// are the consumer-owned collections the plugins declare (`PluginRegistry.credentialKinds`).
    public static func decode(
        _ root: ConfigNode,
        credentialKinds: [any CredentialKind.Type]
    ) throws(ConfigErrors) -> Declarative {
        let (model, errors) = Self.decodeCollectingErrors(root, credentialKinds: credentialKinds)
        guard errors.isEmpty, let model else { throw errors }
        return model
    }

    /// Decodes as much as possible and returns the problems alongside, so later stages (plugin
    /// configs) can still report theirs in the same run. The model is nil only when the root is
    /// not a mapping.
    public static func decodeCollectingErrors(
        _ root: ConfigNode,
        credentialKinds: [any CredentialKind.Type]
    ) -> (Declarative?, ConfigErrors) {
        let decoder = DeclarativeDecoder(credentialKinds: credentialKinds)
        let model = decoder.decodeRoot(root)
        return (model, decoder.diagnostics.errors)
    }
}
