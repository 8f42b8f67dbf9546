extension DeclarativeDecoder {
    /// Resolves every top-level reference: the endpoint key first (name, username), then the id,
    /// as Kong does.
    func link() {
        func index<T>(
            _ items: [T],
            key: (T) -> String?,
            id: (T) -> EntityID
        ) -> (byKey: [String: EntityID], ids: Set<EntityID>) {
            var byKey: [String: EntityID] = [:]
            byKey.reserveCapacity(items.count)
            var ids = Set<EntityID>(minimumCapacity: items.count)
            for i in items.indices {
                if let k = key(items[i]), byKey[k] == nil { byKey[k] = id(items[i]) }
                ids.insert(id(items[i]))
            }
            return (byKey, ids)
        }
        let services = index(self.model.services, key: { $0.name }, id: { $0.id })
        let routes = index(self.model.routes, key: { $0.name }, id: { $0.id })
        let consumers = index(self.model.consumers, key: { $0.username }, id: { $0.id })
        let upstreams = index(self.model.upstreams, key: { $0.name }, id: { $0.id })
        let certificates = index(self.model.certificates, key: { _ in nil }, id: { $0.id })

        func resolve(
            _ ref: Reference,
            field: String,
            collection: String,
            in table: (byKey: [String: EntityID], ids: Set<EntityID>)
        ) -> EntityID? {
            switch ref.form {
            case .text(let s):
                if let id = table.byKey[s] { return id }
                if let id = EntityID(s), table.ids.contains(id) { return id }
            case .object(let id):
                if table.ids.contains(id) { return id }
            }
            self.diagnostics.add(
                "invalid reference '\(field): \(Record.printable(ref.display))' (no such entry in '\(collection)')",
                node: ref.node,
                path: ref.path.text
            )
            return nil
        }

        for (link, ref) in self.pending {
            switch link {
            case .routeService(let i):
                self.model.routes[i].service = resolve(ref, field: "service", collection: "services", in: services)
            case .pluginService(let i):
                self.model.plugins[i].service = resolve(ref, field: "service", collection: "services", in: services)
            case .pluginRoute(let i):
                self.model.plugins[i].route = resolve(ref, field: "route", collection: "routes", in: routes)
            case .pluginConsumer(let i):
                self.model.plugins[i].consumer = resolve(ref, field: "consumer", collection: "consumers", in: consumers)
            case .targetUpstream(let i):
                self.model.targets[i].upstream =
                    resolve(ref, field: "upstream", collection: "upstreams", in: upstreams) ?? .zero
            case .serviceClientCertificate(let i):
                self.model.services[i].clientCertificate = resolve(
                    ref,
                    field: "client_certificate",
                    collection: "certificates",
                    in: certificates
                )
            case .sniCertificate(let i):
                self.model.snis[i].certificate =
                    resolve(ref, field: "certificate", collection: "certificates", in: certificates) ?? .zero
            }
        }
        self.pending = []

        // A service's `ca_certificates` name entities of this file (Kong resolves them at request
        // time and logs a failure; a missing one is a load error here).
        let caIDs = Set(self.model.caCertificates.map(\.id))
        for service in self.model.services {
            for (j, id) in (service.caCertificates ?? []).enumerated() where !caIDs.contains(id) {
                self.diagnostics.add(
                    "invalid reference 'ca_certificates: \(id)' (no such entry in 'ca_certificates')",
                    at: service.location,
                    path: service.fieldPath.appending("ca_certificates").index(j).text
                )
            }
        }
        for reader in self.credentialReaders {
            reader.link { resolve($0, field: "consumer", collection: "consumers", in: consumers) }
        }
    }

    /// Kong's uniqueness rules (kong/db/schema/others/declarative_config.lua); the error goes to the second occurrence.
    func checkUniqueness() {
        var flagged = Set<String>()
        // Items are read by index through the closures: iterating would copy every entity struct.
        func uniqueIDs<T>(
            _ items: [T],
            collection: String,
            id: (T) -> EntityID,
            location: (T) -> SourceLocation,
            path: (T) -> FieldPath
        ) {
            var seen = Set<EntityID>(minimumCapacity: items.count)
            for i in items.indices where !seen.insert(id(items[i])).inserted {
                guard flagged.insert(path(items[i]).text).inserted else { continue }
                self.diagnostics.add(
                    "uniqueness violation: '\(collection)' entity with primary key set to '\(id(items[i]))' already declared",
                    at: location(items[i]),
                    path: path(items[i]).text
                )
            }
        }
        func unique<T>(
            _ items: [T],
            collection: String,
            field: String,
            value: (T) -> String?,
            location: (T) -> SourceLocation,
            path: (T) -> FieldPath
        ) {
            var seen = Set<String>(minimumCapacity: items.count)
            for i in items.indices {
                guard let v = value(items[i]) else { continue }
                // One violation per entity: a name clash also makes the name-derived ids clash.
                if !seen.insert(v).inserted, flagged.insert(path(items[i]).text).inserted {
                    self.diagnostics.add(
                        "uniqueness violation: '\(collection)' entity with \(field) set to '\(Record.printable(v))' already declared",
                        at: location(items[i]),
                        path: path(items[i]).text
                    )
                }
            }
        }
        let m = self.model
        unique(
            m.services,
            collection: "services",
            field: "name",
            value: { $0.name },
            location: { $0.location },
            path: { $0.fieldPath }
        )
        unique(
            m.routes,
            collection: "routes",
            field: "name",
            value: { $0.name },
            location: { $0.location },
            path: { $0.fieldPath }
        )
        unique(
            m.consumers,
            collection: "consumers",
            field: "username",
            value: { $0.username },
            location: { $0.location },
            path: { $0.fieldPath }
        )
        unique(
            m.consumers,
            collection: "consumers",
            field: "custom_id",
            value: { $0.customID },
            location: { $0.location },
            path: { $0.fieldPath }
        )
        unique(
            m.upstreams,
            collection: "upstreams",
            field: "name",
            value: { $0.name.isEmpty ? nil : $0.name },
            location: { $0.location },
            path: { $0.fieldPath }
        )
        unique(
            m.plugins,
            collection: "plugins",
            field: "instance_name",
            value: { $0.instanceName },
            location: { $0.location },
            path: { $0.fieldPath }
        )
        for reader in self.credentialReaders {
            reader.checkUniqueness(.collection, flagged: &flagged, diagnostics: self.diagnostics)
        }
        uniqueIDs(m.services, collection: "services", id: { $0.id }, location: { $0.location }, path: { $0.fieldPath })
        uniqueIDs(m.routes, collection: "routes", id: { $0.id }, location: { $0.location }, path: { $0.fieldPath })
        uniqueIDs(
            m.consumers,
            collection: "consumers",
            id: { $0.id },
            location: { $0.location },
            path: { $0.fieldPath }
        )
        uniqueIDs(
            m.upstreams,
            collection: "upstreams",
            id: { $0.id },
            location: { $0.location },
            path: { $0.fieldPath }
        )
        uniqueIDs(m.plugins, collection: "plugins", id: { $0.id }, location: { $0.location }, path: { $0.fieldPath })
        for reader in self.credentialReaders {
            reader.checkIDs(flagged: &flagged, diagnostics: self.diagnostics)
        }
        uniqueIDs(m.targets, collection: "targets", id: { $0.id }, location: { $0.location }, path: { $0.fieldPath })
        unique(
            m.snis,
            collection: "snis",
            field: "name",
            value: { $0.name },
            location: { $0.location },
            path: { $0.fieldPath }
        )
        uniqueIDs(
            m.certificates,
            collection: "certificates",
            id: { $0.id },
            location: { $0.location },
            path: { $0.fieldPath }
        )
        unique(
            m.caCertificates,
            collection: "ca_certificates",
            field: "cert_digest",
            value: { $0.certDigest },
            location: { $0.location },
            path: { $0.fieldPath }
        )
        uniqueIDs(
            m.caCertificates,
            collection: "ca_certificates",
            id: { $0.id },
            location: { $0.location },
            path: { $0.fieldPath }
        )

        // Scope duplicates that derived ids do not catch (references by name in one place and by id
        // in another; explicit ids; the same target with and without its default port).
        var pluginScopes = [String: SourceLocation]()
        var seenPluginIDs = Set<EntityID>()
        for p in m.plugins {
            let first = seenPluginIDs.insert(p.id).inserted
            let scope =
                "\(p.name):\(p.route?.description ?? ""):\(p.service?.description ?? ""):\(p.consumer?.description ?? "")"
            if pluginScopes[scope] != nil, first {
                self.diagnostics.add(
                    "uniqueness violation: 'plugins' entity with name set to '\(Record.printable(p.name))' already declared for the same route, service and consumer",
                    at: p.location,
                    path: p.fieldPath.text
                )
            } else if pluginScopes[scope] == nil {
                pluginScopes[scope] = p.location
            }
        }
        var targetKeys = Set<String>()
        var seenTargetIDs = Set<EntityID>()
        for t in m.targets {
            let first = seenTargetIDs.insert(t.id).inserted
            if !targetKeys.insert("\(t.upstream):\(t.target)").inserted, first {
                self.diagnostics.add(
                    "uniqueness violation: 'targets' entity with target set to '\(Record.printable(t.target))' already declared",
                    at: t.location,
                    path: t.fieldPath.text
                )
            }
        }
        for reader in self.credentialReaders {
            reader.checkUniqueness(.consumer, flagged: &flagged, diagnostics: self.diagnostics)
        }
    }
}
