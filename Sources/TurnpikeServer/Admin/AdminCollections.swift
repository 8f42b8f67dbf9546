import TurnpikeModel
import TurnpikePlugins

/// The admin API's collection names: the core entities, Kong's that turnpike refuses, and every
/// credential kind of the plugin registry the gateway runs with.
struct AdminCollections: Sendable {
    /// Admin path (`key-auths`) -> declarative collection (`keyauth_credentials`).
    let top: [String: String]
    /// Name under another entity (`/consumers/x/key-auth`) -> declarative collection.
    let nested: [String: String]
    /// Declarative collection -> the field an entity can be addressed by (Kong's `endpoint_key`),
    /// for Kong's "by 'name'" messages.
    let endpointKeys: [String: String]
    /// `GET /plugins/enabled`: the plugins this node can run.
    let enabledPlugins: [String]

    init(registry: PluginRegistry) {
        var top = [
            "services": "services", "routes": "routes", "consumers": "consumers", "plugins": "plugins",
            "upstreams": "upstreams", "targets": "targets", "certificates": "certificates", "snis": "snis",
            "ca_certificates": "ca_certificates", "vaults": "vaults",
        ]
        var nested = ["plugins": "plugins", "routes": "routes", "targets": "targets", "snis": "snis"]
        var endpointKeys = [
            "services": "name", "routes": "name", "upstreams": "name", "consumers": "username",
            "plugins": "instance_name", "snis": "name",
        ]
        for kind in registry.credentialKinds {
            top[kind.adminCollection] = kind.collection
            nested[kind.adminNestedCollection] = kind.collection
            endpointKeys[kind.collection] = kind.endpointKey
        }
        self.top = top
        self.nested = nested
        self.endpointKeys = endpointKeys
        self.enabledPlugins = registry.entries.map(\.name).sorted()
    }
}
