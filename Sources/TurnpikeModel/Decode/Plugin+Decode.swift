extension DeclarativeDecoder {
    /// `parents`: for a nested plugin, its enclosing entity first (the one it is scoped to).
    func readPlugin(_ node: ConfigNode, path: FieldPath, parents: [Parent]) {
        guard var r = Record(node, path: path, diagnostics: self.diagnostics) else { return }
        r.extras()
        self.skipTimestamps(&r)
        let explicitID = self.readID(&r)
        let nameLocation = r.has("name") ? (r.node["name"]?.location ?? node.location) : node.location
        let name = r.string("name", required: true)
        let instanceName = self.readName(&r, key: "instance_name")
        var config: ConfigNode?
        if let c = r.value("config") {
            if c.mapping != nil {
                config = c
            } else {
                r.error("expected a record", key: "config", node: c)
            }
        }
        let protocols = self.readProtocols(&r)
        let enabled = r.bool("enabled")
        let tags = self.readTags(&r)
        for enterprise in ["ordering", "consumer_group"] {
            if let n = r.take(enterprise) {
                r.error("unknown field (Kong Enterprise only; not supported by turnpike)", key: enterprise, node: n)
            }
        }

        var refs: [String: Reference] = [:]
        let scope = parents.first
        if let scope {
            self.checkRestatedParent(&r, parent: scope)
            self.rejectForeignKeys(&r, ["service", "route", "consumer"].filter { $0 != scope.field })
        } else {
            for key in ["service", "route", "consumer"] {
                if let ref = self.readReference(&r, key: key) { refs[key] = ref }
            }
        }
        r.finish(allowExtras: true)

        let label = name ?? ""
        func part(_ field: String) -> String {
            if let scope, scope.field == field { return scope.id.description }
            return refs[field]?.idPart ?? ""
        }
        let id =
            explicitID
            ?? EntityID.v5(
                namespace: DeclarativeIDs.plugins,
                name: "plugins:*:\(label):\(part("route")):\(part("service")):\(part("consumer"))"
            )
        var plugin = PluginInstance(id: id, name: label, location: node.location, path: path)
        plugin.nameLocation = nameLocation
        plugin.instanceName = instanceName
        plugin.config = config
        if let protocols, !protocols.isEmpty { plugin.protocols = protocols }
        if let enabled { plugin.enabled = enabled }
        plugin.tags = tags
        if let scope {
            switch scope.field {
            case "service": plugin.service = scope.id
            case "route": plugin.route = scope.id
            default: plugin.consumer = scope.id
            }
        }
        let index = self.model.plugins.count
        self.model.plugins.append(plugin)
        if let ref = refs["service"] { self.pending.append((.pluginService(index), ref)) }
        if let ref = refs["route"] { self.pending.append((.pluginRoute(index), ref)) }
        if let ref = refs["consumer"] { self.pending.append((.pluginConsumer(index), ref)) }
    }
}
