import Dispatch
import TurnpikeModel
import TurnpikePlugins

/// The lookup tables of a snapshot, built in two independent halves on two threads.
enum SnapshotIndexes {
    struct Consumers: Sendable {
        var consumersByID: [EntityID: Int]
        var consumersByUsername: [String: Int]
        var consumersByCustomID: [String: Int]
    }

    struct Routing: Sendable {
        var servicesByID: [EntityID: Int]
        var servicesByName: [String: Int]
        var routesByID: [EntityID: Int]
        var routesByName: [String: Int]
        var upstreamsByID: [EntityID: Int]
        var upstreamsByName: [String: Int]
        var targetsByUpstream: [EntityID: [Int]]
        var balancers: [String: RoundRobin]
        var routePlans: [RoutePlan]
        var chains: [PhaseChains]
        var globalChains: PhaseChains
    }

    static func build(
        model: Declarative,
        plugins: [ConfiguredPlugin]
    ) -> (Consumers, Routing, CredentialIndexes) {
        let consumers = OnceBox<Consumers>()
        let routing = OnceBox<Routing>()
        let lists = model.credentials.lists
        let credentials = lists.map { _ in OnceBox<CredentialIndexes.Entry>() }
        // The parts run on the cores there are: each credential kind's index (key-auth's is a
        // salted digest per key, the largest single piece) is a part of its own.
        DispatchQueue.concurrentPerform(iterations: 2 + lists.count) { part in
            switch part {
            case 0: consumers.value = Self.consumers(model)
            case 1: routing.value = Self.routing(model, plugins)
            default: credentials[part - 2].value = lists[part - 2].buildIndex()
            }
        }
        // concurrentPerform returns after every part: the values are set.
        return (
            consumers.value ?? Self.consumers(model), routing.value ?? Self.routing(model, plugins),
            CredentialIndexes(lists.indices.map { credentials[$0].value ?? lists[$0].buildIndex() })
        )
    }

    static func index<T, K: Hashable>(_ items: [T], _ key: (T) -> K?) -> [K: Int] {
        var out: [K: Int] = [:]
        out.reserveCapacity(items.count)
        // By index: `for item in items` would copy (retain and release) every entity.
        for i in items.indices {
            if let k = key(items[i]), out[k] == nil { out[k] = i }
        }
        return out
    }

    static func consumers(_ model: Declarative) -> Consumers {
        Consumers(
            consumersByID: index(model.consumers) { $0.id },
            consumersByUsername: index(model.consumers) { $0.username },
            consumersByCustomID: index(model.consumers) { $0.customID }
        )
    }

    static func routing(_ model: Declarative, _ plugins: [ConfiguredPlugin]) -> Routing {
        let upstreamsByName = index(model.upstreams) { $0.name }
        var targets: [EntityID: [Int]] = [:]
        for i in model.targets.indices { targets[model.targets[i].upstream, default: []].append(i) }
        var balancers: [String: RoundRobin] = [:]
        for u in model.upstreams {
            balancers[u.name] = RoundRobin(targets: (targets[u.id] ?? []).map { model.targets[$0] })
        }
        var servicePlans: [EntityID: ServicePlan] = [:]
        var caPEM: [EntityID: String] = [:]
        for ca in model.caCertificates { caPEM[ca.id] = ca.cert }
        var certificatesByID: [EntityID: Int] = [:]
        for (i, c) in model.certificates.enumerated() { certificatesByID[c.id] = i }
        for service in model.services {
            let upstreamHostHeader = upstreamsByName[service.host].flatMap { model.upstreams[$0].hostHeader }
            servicePlans[service.id] = ServicePlan(
                service: service,
                balancer: balancers[service.host],
                upstreamHostHeader: upstreamHostHeader,
                caCertificates: service.caCertificates.map { ids in ids.compactMap { caPEM[$0] } },
                clientCertificate: service.clientCertificate.flatMap { certificatesByID[$0] }.map {
                    model.certificates[$0]
                }
            )
        }
        let routePlans = model.routes.indices.map { i in
            RoutePlan(
                routeIndex: i,
                route: model.routes[i],
                service: model.routes[i].service.flatMap { servicePlans[$0] }
            )
        }
        // Candidates indexed once by what they are attached to, so resolving 10k routes does not
        // scan every plugin for every route.
        var byRoute: [EntityID: [ConfiguredPlugin]] = [:]
        var byService: [EntityID: [ConfiguredPlugin]] = [:]
        var global: [ConfiguredPlugin] = []
        var consumerOnly: [ConfiguredPlugin] = []
        for p in plugins where p.instance.enabled && p.hasHandlers {
            if let r = p.instance.route {
                byRoute[r, default: []].append(p)
            } else if let s = p.instance.service {
                byService[s, default: []].append(p)
            } else if p.instance.consumer != nil {
                // Consumer-only instances apply on every route, not to requests that match none.
                consumerOnly.append(p)
            } else {
                global.append(p)
            }
        }
        let chains = model.routes.map { route -> PhaseChains in
            let candidates =
                (byRoute[route.id] ?? []) + (route.service.flatMap { byService[$0] } ?? []) + global + consumerOnly
            return candidates.isEmpty ? .empty : Snapshot.chains(candidates, route: route.id, service: route.service)
        }
        return Routing(
            servicesByID: index(model.services) { $0.id },
            servicesByName: index(model.services) { $0.name },
            routesByID: index(model.routes) { $0.id },
            routesByName: index(model.routes) { $0.name },
            upstreamsByID: index(model.upstreams) { $0.id },
            upstreamsByName: upstreamsByName,
            targetsByUpstream: targets,
            balancers: balancers,
            routePlans: routePlans,
            chains: chains,
            globalChains: Snapshot.chains(global, route: nil, service: nil)
        )
    }
}

/// A value written by exactly one `concurrentPerform` iteration and read after it returned.
///
/// Safety: each box is written once, by one thread, and `DispatchQueue.concurrentPerform` returns
/// only after every iteration finished, which orders that write before the read.
final class OnceBox<T>: @unchecked Sendable {
    var value: T?
}
