#if canImport(Glibc)
import Glibc
#endif
public import TurnpikeModel
public import TurnpikePlugins
public import TurnpikeRouter

/// A plugin instance with its config decoded by the plugin that owns it.
public struct ConfiguredPlugin: Sendable {
    public let instance: PluginInstance
    public let config: any PluginConfig
    public let priority: Int
    /// The request-phase handler, for plugins that have one.
    public let access: (any AccessHandler)?
}

/// One loaded config, immutable: every request is served from exactly one snapshot.
///
/// Built off the event loops by `SnapshotBuilder`; holds the indexes requests need so no request
/// sorts, parses or builds a dictionary.
public final class Snapshot: Sendable {
    /// Counts successful loads since start (1 for the first config).
    public let generation: Int
    /// md5 hex of the file bytes (Kong's `configuration_hash`); all zeros for a config with no entities.
    public let hash: String
    /// When the snapshot was built (Unix seconds): DB-less entities' `created_at`/`updated_at`.
    public let loadedAt: Int
    public let model: Declarative

    public let servicesByID: [EntityID: Int]
    public let servicesByName: [String: Int]
    public let routesByID: [EntityID: Int]
    public let routesByName: [String: Int]
    public let consumersByID: [EntityID: Int]
    public let consumersByUsername: [String: Int]
    public let consumersByCustomID: [String: Int]
    /// key-auth credentials by key: one hash probe per request, whatever the number of consumers.
    public let keyauthByKey: [String: Int]
    public let basicauthByUsername: [String: Int]
    /// ACL groups per consumer, in file order.
    public let groupsByConsumer: [EntityID: [String]]
    public let upstreamsByID: [EntityID: Int]
    public let upstreamsByName: [String: Int]
    public let targetsByUpstream: [EntityID: [Int]]
    /// Every plugin instance with its decoded config, in file order.
    public let plugins: [ConfiguredPlugin]
    /// The compiled router: Kong's priority order, routes of disabled services left out.
    public let routes: RouteTable
    /// Round-robin slot lists by upstream name (a service whose host names an upstream is balanced).
    public let balancers: [String: RoundRobin]
    /// Per route (same index as `model.routes`): what the proxy needs once the route matched.
    public let routePlans: [RoutePlan]
    /// Per route: the access handlers that apply, resolved by Kong's scope precedence and sorted
    /// by priority once here; empty for most routes. `globalChain` runs when no route matched.
    public let accessChains: [[any AccessHandler]]
    public let globalChain: [any AccessHandler]

    init(generation: Int, hash: String, model: Declarative, plugins: [ConfiguredPlugin], routes: RouteTable) {
        self.generation = generation
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        self.loadedAt = Int(now.tv_sec)
        self.hash = model.isEmpty ? String(repeating: "0", count: 32) : hash
        self.model = model
        func index<T, K: Hashable>(_ items: [T], _ key: (T) -> K?) -> [K: Int] {
            var out: [K: Int] = [:]
            out.reserveCapacity(items.count)
            // By index: `for item in items` would copy (retain and release) every entity.
            for i in items.indices {
                if let k = key(items[i]), out[k] == nil { out[k] = i }
            }
            return out
        }
        self.servicesByID = index(model.services) { $0.id }
        self.servicesByName = index(model.services) { $0.name }
        self.routesByID = index(model.routes) { $0.id }
        self.routesByName = index(model.routes) { $0.name }
        self.consumersByID = index(model.consumers) { $0.id }
        self.consumersByUsername = index(model.consumers) { $0.username }
        self.consumersByCustomID = index(model.consumers) { $0.customID }
        self.keyauthByKey = index(model.keyauthCredentials) { $0.key }
        self.basicauthByUsername = index(model.basicauthCredentials) { $0.username }
        var groups: [EntityID: [String]] = [:]
        for i in model.acls.indices { groups[model.acls[i].consumer, default: []].append(model.acls[i].group) }
        self.groupsByConsumer = groups
        self.upstreamsByID = index(model.upstreams) { $0.id }
        self.upstreamsByName = index(model.upstreams) { $0.name }
        var targets: [EntityID: [Int]] = [:]
        for i in model.targets.indices { targets[model.targets[i].upstream, default: []].append(i) }
        self.targetsByUpstream = targets
        self.plugins = plugins
        self.routes = routes
        var balancers: [String: RoundRobin] = [:]
        for u in model.upstreams {
            let targets = (targets[u.id] ?? []).map { model.targets[$0] }
            balancers[u.name] = RoundRobin(targets: targets)
        }
        self.balancers = balancers
        var servicePlans: [EntityID: ServicePlan] = [:]
        for service in model.services {
            let upstreamHostHeader = self.upstreamsByName[service.host].flatMap { model.upstreams[$0].hostHeader }
            servicePlans[service.id] = ServicePlan(
                service: service, balancer: balancers[service.host], upstreamHostHeader: upstreamHostHeader)
        }
        self.routePlans = model.routes.indices.map { i in
            RoutePlan(routeIndex: i, route: model.routes[i], service: model.routes[i].service.flatMap { servicePlans[$0] })
        }
        // Candidates indexed once by what they are attached to, so resolving 10k routes does not
        // scan every plugin for every route.
        var byRoute: [EntityID: [ConfiguredPlugin]] = [:]
        var byService: [EntityID: [ConfiguredPlugin]] = [:]
        var global: [ConfiguredPlugin] = []
        for p in plugins where p.instance.enabled && p.instance.consumer == nil && p.access != nil {
            if let r = p.instance.route {
                byRoute[r, default: []].append(p)
            } else if let s = p.instance.service {
                byService[s, default: []].append(p)
            } else {
                global.append(p)
            }
        }
        self.accessChains = model.routes.map { route in
            let candidates = (byRoute[route.id] ?? []) + (route.service.flatMap { byService[$0] } ?? []) + global
            return candidates.isEmpty ? [] : Self.chain(candidates, route: route.id, service: route.service)
        }
        self.globalChain = Self.chain(global, route: nil, service: nil)
    }

    /// Kong's precedence (plugins.md §2.2) for scopes known before authentication: per plugin name,
    /// route+service, then route, then service, then global. Disabled instances do not count.
    static func chain(_ plugins: [ConfiguredPlugin], route: EntityID?, service: EntityID?) -> [any AccessHandler] {
        var best: [String: (rank: Int, plugin: ConfiguredPlugin)] = [:]
        for p in plugins where p.instance.enabled && p.instance.consumer == nil && p.access != nil {
            guard p.instance.protocols.contains(.http) || p.instance.protocols.contains(.https) else { continue }
            let i = p.instance
            let rank: Int
            if let r = i.route, let s = i.service {
                guard r == route, s == service else { continue }
                rank = 4
            } else if let r = i.route {
                guard r == route else { continue }
                rank = 3
            } else if let s = i.service {
                guard s == service else { continue }
                rank = 2
            } else {
                rank = 1
            }
            if rank > (best[i.name]?.rank ?? 0) { best[i.name] = (rank, p) }
        }
        return best.values.map(\.plugin).sorted {
            $0.priority != $1.priority ? $0.priority > $1.priority : $0.instance.name > $1.instance.name
        }.compactMap(\.access)
    }
}

extension Snapshot: CredentialDirectory {
    public func keyAuthCredential(key: String) -> KeyAuthCredential? {
        self.keyauthByKey[key].map { self.model.keyauthCredentials[$0] }
    }

    public func basicAuthCredential(username: String) -> BasicAuthCredential? {
        self.basicauthByUsername[username].map { self.model.basicauthCredentials[$0] }
    }

    public func groups(consumer: EntityID) -> [String] {
        self.groupsByConsumer[consumer] ?? []
    }

    public func consumer(id: EntityID) -> Consumer? {
        self.consumersByID[id].map { self.model.consumers[$0] }
    }

}

extension Snapshot {
    /// Looks a consumer up by id (when `value` is a UUID) or username, as Kong resolves `anonymous`.
    public func consumer(idOrUsername value: String) -> Consumer? {
        if let id = EntityID(value), let i = self.consumersByID[id] { return self.model.consumers[i] }
        if let i = self.consumersByUsername[value] { return self.model.consumers[i] }
        return nil
    }
}
