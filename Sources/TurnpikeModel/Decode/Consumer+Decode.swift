extension DeclarativeDecoder {
    static let unsupportedConsumerChildren = [
        "jwt_secrets", "hmacauth_credentials", "oauth2_credentials", "consumer_groups",
    ]

    func readConsumer(_ node: ConfigNode, path: FieldPath) {
        guard var r = Record(node, path: path, diagnostics: self.diagnostics) else { return }
        r.extras()
        self.skipTimestamps(&r)
        let explicitID = self.readID(&r)
        let username = r.string("username")
        let customID = r.string("custom_id")
        let tags = self.readTags(&r)
        // Into a list kept across consumers: no allocation per consumer (100,000 are common).
        var credentials = self.consumerChildren
        self.consumerChildren = []
        credentials.removeAll(keepingCapacity: true)
        for reader in self.credentialReaders { credentials.append(r.take(reader.collection)) }
        defer { self.consumerChildren = credentials }
        let plugins = r.take("plugins")
        for nested in self.refusedConsumerChildren {
            if let n = r.take(nested), !n.isNull, !(n.sequence?.isEmpty ?? false) {
                r.error("'\(nested)' entities are not supported by turnpike", key: nested, node: n)
            }
        }
        r.finish(allowExtras: true)
        if username == nil && customID == nil && !r.has("username") && !r.has("custom_id") {
            r.entityError("at least one of these fields must be non-empty: 'custom_id', 'username'")
        }

        let id =
            explicitID
            ?? (username.map { EntityID.v5(namespace: DeclarativeIDs.consumers, name: $0) }
                ?? EntityID.v5(namespace: DeclarativeIDs.consumers, name: "turnpike:custom_id:\(customID ?? "")"))
        var consumer = Consumer(id: id, location: node.location, path: path)
        consumer.username = username
        consumer.customID = customID
        consumer.tags = tags
        self.model.consumers.append(consumer)

        let parent = Parent(field: "consumer", id: id, key: username)
        for (reader, node) in zip(self.credentialReaders, credentials) {
            self.readChildren(node, key: reader.collection, path: path) { item, itemPath in
                reader.read(item, path: itemPath, parent: parent, decoder: self)
            }
        }
        if plugins != nil { self.readNestedPlugins(plugins, path: path.appending("plugins"), parents: [parent]) }
    }

    /// Reads a nested child list; absent and null lists cost nothing.
    func readChildren(_ node: ConfigNode?, key: String, path: FieldPath, read: (ConfigNode, FieldPath) -> Void) {
        guard let node, !node.isNull else { return }
        let listPath = path.appending(key)
        guard let list = node.sequence else {
            _ = Record.array(node, path: listPath, diagnostics: self.diagnostics, element: { n, _ in n })
            return
        }
        for (i, item) in list.enumerated() {
            read(item, listPath.index(i))
        }
    }
}
