import Foundation
public import TurnpikeModel
public import TurnpikePlugins
public import TurnpikeRouter

#if canImport(Glibc)
import Glibc
#endif

/// A plugin instance with its config decoded by the plugin that owns it.
public struct ConfiguredPlugin: Sendable {
    public let instance: PluginInstance
    public let config: any PluginConfig
    public let priority: Int
    /// The phase handlers, for the phases the plugin has.
    public let access: (any AccessHandler)?
    public let response: (any ResponseHandler)?
    public let body: (any BodyHandler)?
    public let log: (any LogPhaseHandler)?

    public init(
        instance: PluginInstance,
        config: any PluginConfig,
        priority: Int,
        access: (any AccessHandler)?,
        response: (any ResponseHandler)? = nil,
        body: (any BodyHandler)? = nil,
        log: (any LogPhaseHandler)? = nil
    ) {
        self.instance = instance
        self.config = config
        self.priority = priority
        self.access = access
        self.response = response
        self.body = body
        self.log = log
    }

    var hasHandlers: Bool { self.access != nil || self.response != nil || self.body != nil || self.log != nil }
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
    /// Each credential kind's index (key-auth keys, basic-auth usernames, ACL groups), built by
    /// the kind's plugin.
    public let credentialIndexes: CredentialIndexes
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
    /// Per route: the phase handlers that apply, resolved by Kong's scope precedence and sorted
    /// by priority once here; empty for most routes. `globalChains` run when no route matched.
    public let chains: [PhaseChains]
    public let globalChains: PhaseChains
    /// The server certificates, by SNI (`certificates`, `snis`).
    public let certificates: CertificateTable
    /// What loads but deserves a word (`FILE:LINE:COL: path: message`): an expired certificate
    /// loads, as in Kong, with a warning.
    public let warnings: [ConfigError]

    init(
        generation: Int,
        hash: String,
        model: Declarative,
        plugins: [ConfiguredPlugin],
        routes: RouteTable,
        certificates: CertificateTable = .empty
    ) {
        self.certificates = certificates
        self.generation = generation
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        self.loadedAt = Int(now.tv_sec)
        self.hash = model.isEmpty ? String(repeating: "0", count: 32) : hash
        self.model = model
        // The consumer-side, routing-side and credential indexes are independent: built in
        // parallel (a config with 100k consumers spends most of its build time here).
        let (c, r, credentials) = SnapshotIndexes.build(model: model, plugins: plugins)
        self.consumersByID = c.consumersByID
        self.consumersByUsername = c.consumersByUsername
        self.consumersByCustomID = c.consumersByCustomID
        self.credentialIndexes = credentials
        self.servicesByID = r.servicesByID
        self.servicesByName = r.servicesByName
        self.routesByID = r.routesByID
        self.routesByName = r.routesByName
        self.upstreamsByID = r.upstreamsByID
        self.upstreamsByName = r.upstreamsByName
        self.targetsByUpstream = r.targetsByUpstream
        self.balancers = r.balancers
        self.routePlans = r.routePlans
        self.chains = r.chains
        self.globalChains = r.globalChains
        self.plugins = plugins
        self.routes = routes
        var warnings: [ConfigError] = []
        for c in model.certificates where c.notValidAfter.timeIntervalSince1970 < Double(self.loadedAt) {
            warnings.append(
                ConfigError(
                    "certificate expired, \"Not After\" time is in the past (loaded, as Kong does)",
                    at: c.location,
                    path: c.fieldPath.appending("cert").text
                )
            )
        }
        self.warnings = warnings
    }

    /// Kong's precedence (kong/runloop/plugins_iterator.lua) for scopes known before authentication: per plugin name,
    /// route+service, then route, then service, then global; disabled instances do not count.
    /// The instances that apply are split per phase, each in priority order.
    static func chains(_ plugins: [ConfiguredPlugin], route: EntityID?, service: EntityID?) -> PhaseChains {
        var best: [String: (rank: Int, plugin: ConfiguredPlugin)] = [:]
        for p in plugins where p.instance.enabled && p.instance.consumer == nil && p.hasHandlers {
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
        let ordered = best.values.map(\.plugin).sorted {
            $0.priority != $1.priority ? $0.priority > $1.priority : $0.instance.name > $1.instance.name
        }
        return PhaseChains(
            access: ordered.compactMap(\.access),
            response: ordered.compactMap(\.response),
            body: ordered.compactMap(\.body),
            log: ordered.compactMap(\.log)
        )
    }
}

extension Snapshot: CredentialDirectory {
    public func credentials<K: CredentialKind>(_ kind: K.Type) -> K.Index? {
        self.credentialIndexes.index(kind)
    }

    public func consumer(id: EntityID) -> Consumer? {
        self.consumersByID[id].map { self.model.consumers[$0] }
    }

    public func route(id: EntityID) -> Route? {
        self.routesByID[id].map { self.model.routes[$0] }
    }

    public func service(id: EntityID) -> Service? {
        self.servicesByID[id].map { self.model.services[$0] }
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
