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

    /// Kong's precedence (kong/runloop/plugins_iterator.lua `lookup_cfg`): per plugin name the
    /// most specific enabled instance runs, in the order route+service+consumer, route+consumer,
    /// service+consumer, route+service, consumer, route, service, global. Scopes without a consumer
    /// resolve here; a plugin that also has consumer-scoped instances gets one slot that picks by
    /// the consumer the access phase identified (`ConsumerScoped`). The slots are split per phase,
    /// each in priority order.
    static func chains(_ plugins: [ConfiguredPlugin], route: EntityID?, service: EntityID?) -> PhaseChains {
        typealias Ranked = (rank: Int, plugin: ConfiguredPlugin)
        var best: [String: Ranked] = [:]
        var byConsumer: [String: [EntityID: Ranked]] = [:]
        for p in plugins where p.instance.enabled && p.hasHandlers {
            guard p.instance.protocols.contains(.http) || p.instance.protocols.contains(.https) else { continue }
            let i = p.instance
            guard let rank = Self.rank(i, route: route, service: service) else { continue }
            if let consumer = i.consumer {
                if rank > (byConsumer[i.name]?[consumer]?.rank ?? 0) {
                    byConsumer[i.name, default: [:]][consumer] = (rank, p)
                }
            } else if rank > (best[i.name]?.rank ?? 0) {
                best[i.name] = (rank, p)
            }
        }
        var slots: [(priority: Int, name: String, fallback: ConfiguredPlugin?, chosen: [EntityID: ConfiguredPlugin])] =
            []
        for name in Set(best.keys).union(byConsumer.keys) {
            let fallback = best[name]
            var chosen: [EntityID: ConfiguredPlugin] = [:]
            // A consumer's instance wins only over a less specific one (route+service beats consumer).
            for (consumer, entry) in byConsumer[name] ?? [:] where entry.rank > (fallback?.rank ?? 0) {
                chosen[consumer] = entry.plugin
            }
            guard let priority = fallback?.plugin.priority ?? chosen.first?.value.priority else { continue }
            slots.append((priority, name, fallback?.plugin, chosen))
        }
        slots.sort { $0.priority != $1.priority ? $0.priority > $1.priority : $0.name > $1.name }
        var chains = PhaseChains()
        for slot in slots {
            if slot.chosen.isEmpty, let p = slot.fallback {
                if let h = p.access { chains.access.append(h) }
                if let h = p.response { chains.response.append(h) }
                if let h = p.body { chains.body.append(h) }
                if let h = p.log { chains.log.append(h) }
                continue
            }
            let any = slot.fallback ?? slot.chosen.first!.value
            func scoped<H>(_ handler: (ConfiguredPlugin) -> H?) -> ConsumerScoped<H> {
                ConsumerScoped(
                    name: slot.name,
                    fallback: slot.fallback.flatMap(handler),
                    byConsumer: slot.chosen.compactMapValues(handler)
                )
            }
            if any.access != nil { chains.access.append(scoped(\.access)) }
            if any.response != nil { chains.response.append(scoped(\.response)) }
            if any.body != nil { chains.body.append(scoped(\.body)) }
            if any.log != nil { chains.log.append(scoped(\.log)) }
        }
        return chains
    }

    /// The instance's rank in Kong's precedence for a request on `route` of `service` (8 the most
    /// specific), or nil when it does not apply there.
    static func rank(_ i: PluginInstance, route: EntityID?, service: EntityID?) -> Int? {
        if let r = i.route, r != route { return nil }
        if let s = i.service, s != service { return nil }
        switch (i.route != nil, i.service != nil, i.consumer != nil) {
        case (true, true, true): return 8
        case (true, false, true): return 7
        case (false, true, true): return 6
        case (true, true, false): return 5
        case (false, false, true): return 4
        case (true, false, false): return 3
        case (false, true, false): return 2
        case (false, false, false): return 1
        }
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
