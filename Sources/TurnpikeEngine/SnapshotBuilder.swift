public import TurnpikeModel
public import TurnpikePlugins
import TurnpikeRouter

/// Compiles a decoded model into a `Snapshot`: plugin configs decoded and validated by their
/// plugins, what turnpike cannot serve rejected with a located error, indexes built.
///
/// Pure and synchronous; call it off the event loops.
public struct SnapshotBuilder: Sendable {
    public var registry: PluginRegistry
    /// The process's plugin state, handed to every plugin instance the builder makes.
    public var stores: PluginStores
    /// Makes a certificate's TLS material when a snapshot is built (set by a running gateway: its
    /// TLS context; `validate` leaves it nil). Errors are config errors at the certificate.
    public var compileCertificate: (@Sendable (TLSCertificate) throws -> any Sendable)?

    public init(registry: PluginRegistry = .builtIn, stores: PluginStores = PluginStores()) {
        self.registry = registry
        self.stores = stores
    }

    /// Builds a snapshot or throws every problem found.
    public func build(_ model: Declarative, hash: String, generation: Int) throws(ConfigErrors) -> Snapshot {
        let diagnostics = Diagnostics()
        let plugins = self.check(model, diagnostics: diagnostics)
        let table = self.compileRoutes(model, diagnostics: diagnostics)
        let certificates = CertificateTable.build(model, compile: self.compileCertificate, diagnostics: diagnostics)
        guard diagnostics.isEmpty, let table else { throw ConfigErrors(diagnostics.errors.sorted) }
        return Snapshot(
            generation: generation,
            hash: hash,
            model: model,
            plugins: plugins,
            routes: table,
            certificates: certificates
        )
    }

    /// Compiles the router; regexes PCRE2 rejects are reported at the path that holds them.
    func compileRoutes(_ model: Declarative, diagnostics: Diagnostics) -> RouteTable? {
        var disabledServices = Set<EntityID>()
        for service in model.services where !service.enabled { disabledServices.insert(service.id) }
        do {
            return try RouteTableBuilder().build(model.routes) { _, route in
                // Kong: routes of a disabled service are not routable.
                guard let service = route.service else { return true }
                return !disabledServices.contains(service)
            }
        } catch {
            for problem in error.problems {
                let route = model.routes[problem.routeIndex]
                switch problem.field {
                case .path(let index):
                    let location = index < route.pathLocations.count ? route.pathLocations[index] : route.location
                    diagnostics.add(
                        problem.message,
                        at: location,
                        path: route.fieldPath.appending("paths").index(index).text
                    )
                case .header(let name, let index):
                    diagnostics.add(
                        problem.message,
                        at: route.location,
                        path: route.fieldPath.appending("headers").appending(name).index(index).text
                    )
                }
            }
            return nil
        }
    }

    /// Runs every check the builder makes and reports into `diagnostics`; usable on a model that
    /// already has decode errors, so one `validate` run reports both kinds.
    @discardableResult
    public func check(_ model: Declarative, diagnostics: Diagnostics) -> [ConfiguredPlugin] {
        for service in model.services where service.protocol != .http && service.protocol != .https {
            diagnostics.add(
                "protocol '\(service.protocol.rawValue)' is not supported by turnpike yet (supported: http, https)",
                at: service.location,
                path: service.fieldPath.appending("protocol").text
            )
        }
        for route in model.routes {
            let unsupported = route.protocols.filter { $0 != .http && $0 != .https }
            if !unsupported.isEmpty {
                diagnostics.add(
                    "protocol '\(unsupported[0].rawValue)' is not supported by turnpike (supported: http, https)",
                    at: route.location,
                    path: route.fieldPath.appending("protocols").text
                )
            }
        }

        // Upstream features that are validated but not run yet: refused, so a config never means
        // more than what turnpike does.
        for upstream in model.upstreams {
            if upstream.algorithm != "round-robin" {
                diagnostics.add(
                    "algorithm '\(upstream.algorithm)' is not supported by turnpike yet (supported: round-robin)",
                    at: upstream.location,
                    path: upstream.fieldPath.appending("algorithm").text
                )
            }
            let h = upstream.healthchecks
            let active = (h.active.healthy.interval ?? 0) > 0 || (h.active.unhealthy.interval ?? 0) > 0
            let passive =
                h.passive.healthy.successes > 0 || h.passive.unhealthy.tcpFailures > 0
                || h.passive.unhealthy.timeouts > 0 || h.passive.unhealthy.httpFailures > 0
            if active || passive {
                diagnostics.add(
                    "health checks are not supported by turnpike yet (leave intervals and counters at 0)",
                    at: upstream.location,
                    path: upstream.fieldPath.appending("healthchecks").text
                )
            }
        }

        var out: [ConfiguredPlugin] = []
        out.reserveCapacity(model.plugins.count)
        for plugin in model.plugins {
            guard let entry = self.registry.entry(named: plugin.name) else {
                if !plugin.name.isEmpty {
                    diagnostics.add(
                        self.registry.unknownNameMessage(plugin.name),
                        at: plugin.nameLocation,
                        path: plugin.fieldPath.appending("name").text
                    )
                }
                continue
            }
            if plugin.consumer != nil && !entry.allowsConsumerScope {
                diagnostics.add(
                    "value must be null",
                    at: plugin.location,
                    path: plugin.label.appending("consumer").text
                )
            }
            let scope = PluginScope(service: plugin.service, route: plugin.route, consumer: plugin.consumer)
            let configPath = plugin.label.appending("config")
            if let config = entry.decode(plugin.config, plugin.location, configPath, scope, diagnostics) {
                let instance = entry.make?(config, self.stores)
                let access = instance as? any AccessHandler
                let response = instance as? any ResponseHandler
                let body = instance as? any BodyHandler
                let log = instance as? any LogPhaseHandler
                if plugin.enabled && access == nil && response == nil && body == nil && log == nil {
                    // Validated, but its request phases do not exist yet: refuse rather than let
                    // traffic through unchecked.
                    diagnostics.add(
                        "plugin '\(plugin.name)' is validated but not yet enforced by turnpike; set 'enabled: false'",
                        at: plugin.location,
                        path: plugin.label.appending("enabled").text
                    )
                }
                out.append(
                    ConfiguredPlugin(
                        instance: plugin,
                        config: config,
                        priority: entry.priority,
                        access: access,
                        response: response,
                        body: body,
                        log: log
                    )
                )
            }
        }
        // `anonymous` must name a consumer of this file (Kong answers 500 at request time; a
        // load-time error is kinder and costs nothing).
        for p in out {
            guard let anonymous = p.config.anonymousConsumer else { continue }
            let exists = model.consumers.contains {
                $0.id.description == anonymous.lowercased() || $0.username == anonymous
            }
            if !exists {
                diagnostics.add(
                    "anonymous consumer '\(Record.printable(anonymous))' is configured but doesn't exist",
                    at: p.instance.config?["anonymous"]?.location ?? p.instance.location,
                    path: p.instance.label.appending("config.anonymous").text
                )
            }
        }
        return out
    }
}
