import Crypto

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
        let keyauth = r.take("keyauth_credentials")
        let basicauth = r.take("basicauth_credentials")
        let acls = r.take("acls")
        let plugins = r.take("plugins")
        for nested in Self.unsupportedConsumerChildren {
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
        self.readChildren(keyauth, key: "keyauth_credentials", path: path) { item, itemPath in
            self.readKeyAuth(item, path: itemPath, parent: parent)
        }
        self.readChildren(basicauth, key: "basicauth_credentials", path: path) { item, itemPath in
            self.readBasicAuth(item, path: itemPath, parent: parent)
        }
        self.readChildren(acls, key: "acls", path: path) { item, itemPath in
            self.readACL(item, path: itemPath, parent: parent)
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

    func readKeyAuth(_ node: ConfigNode, path: FieldPath, parent: Parent?) {
        guard var r = Record(node, path: path, diagnostics: self.diagnostics) else { return }
        r.extras()
        self.skipTimestamps(&r)
        let explicitID = self.readID(&r)
        var consumerRef: Reference?
        if let parent {
            self.checkRestatedParent(&r, parent: parent)
        } else {
            consumerRef = self.readReference(&r, key: "consumer", required: true)
        }
        let key = r.string("key")
        let ttl = r.integer("ttl", in: 0...100_000_000_000)
        let tags = self.readTags(&r)
        r.finish(allowExtras: true)

        var credential = KeyAuthCredential(
            id: explicitID ?? .zero,
            consumer: parent?.id ?? .zero,
            location: node.location,
            path: path
        )
        if explicitID != nil { self.explicitKeyauthIDs.insert(self.model.keyauthCredentials.count) }
        credential.key = key
        credential.ttl = ttl
        credential.tags = tags
        let index = self.model.keyauthCredentials.count
        self.model.keyauthCredentials.append(credential)
        if let consumerRef { self.pending.append((.keyauthConsumer(index), consumerRef)) }
    }

    func readBasicAuth(_ node: ConfigNode, path: FieldPath, parent: Parent?) {
        guard var r = Record(node, path: path, diagnostics: self.diagnostics) else { return }
        r.extras()
        self.skipTimestamps(&r)
        let explicitID = self.readID(&r)
        var consumerRef: Reference?
        if let parent {
            self.checkRestatedParent(&r, parent: parent)
        } else {
            consumerRef = self.readReference(&r, key: "consumer", required: true)
        }
        let username = r.string("username", required: true)
        let password = r.string("password", required: true)
        let tags = self.readTags(&r)
        r.finish(allowExtras: true)

        var credential = BasicAuthCredential(
            id: explicitID ?? .zero,
            consumer: parent?.id ?? .zero,
            username: username ?? "",
            passwordDigest: "",
            location: node.location,
            path: path
        )
        if explicitID != nil { self.explicitBasicauthIDs.insert(self.model.basicauthCredentials.count) }
        credential.tags = tags
        let index = self.model.basicauthCredentials.count
        self.model.basicauthCredentials.append(credential)
        if let password { self.clearPasswords[index] = password }
        if let consumerRef { self.pending.append((.basicauthConsumer(index), consumerRef)) }
    }

    func readACL(_ node: ConfigNode, path: FieldPath, parent: Parent?) {
        guard var r = Record(node, path: path, diagnostics: self.diagnostics) else { return }
        r.extras()
        self.skipTimestamps(&r)
        let explicitID = self.readID(&r)
        var consumerRef: Reference?
        if let parent {
            self.checkRestatedParent(&r, parent: parent)
        } else {
            consumerRef = self.readReference(&r, key: "consumer", required: true)
        }
        let group = r.string("group", required: true)
        let tags = self.readTags(&r)
        r.finish(allowExtras: true)

        var acl = ACLGroup(
            id: explicitID ?? .zero,
            consumer: parent?.id ?? .zero,
            group: group ?? "",
            location: node.location,
            path: path
        )
        if explicitID != nil { self.explicitACLIDs.insert(self.model.acls.count) }
        acl.tags = tags
        let index = self.model.acls.count
        self.model.acls.append(acl)
        if let consumerRef { self.pending.append((.aclConsumer(index), consumerRef)) }
    }

    /// Credentials get ids derived from their consumer, which is known only after linking:
    /// key-auth `uuid5(consumer id + ordinal)` (never from the key, which is a secret), basic-auth
    /// from its username, ACLs from consumer and group. Basic-auth passwords are hashed here.
    func assignCredentialIDs() {
        var ordinals: [EntityID: Int] = [:]
        for i in self.model.keyauthCredentials.indices where !self.explicitKeyauthIDs.contains(i) {
            let consumer = self.model.keyauthCredentials[i].consumer
            let n = ordinals[consumer, default: 0]
            ordinals[consumer] = n + 1
            // uuid5 over the consumer id's 16 bytes and the ordinal: no strings for 100k credentials.
            self.model.keyauthCredentials[i].id = withUnsafeBytes(
                of: (consumer.high.bigEndian, consumer.low.bigEndian, UInt64(n).bigEndian)
            ) { EntityID.v5(namespace: DeclarativeIDs.keyauthCredentials, bytes: $0) }
        }
        for i in self.model.basicauthCredentials.indices {
            let credential = self.model.basicauthCredentials[i]
            if !self.explicitBasicauthIDs.contains(i) {
                self.model.basicauthCredentials[i].id = EntityID.v5(
                    namespace: DeclarativeIDs.basicauthCredentials,
                    name: "turnpike:\(credential.username)"
                )
            }
            if let password = self.clearPasswords[i] {
                // `_transform: false` (Kong's export) means the password is already Kong's digest.
                self.model.basicauthCredentials[i].passwordDigest =
                    self.model.transform
                    ? Self.basicAuthDigest(password: password, consumer: credential.consumer) : password
            }
        }
        self.clearPasswords = [:]
        for i in self.model.acls.indices where !self.explicitACLIDs.contains(i) {
            let acl = self.model.acls[i]
            self.model.acls[i].id = EntityID.v5(
                namespace: DeclarativeIDs.acls,
                name: "turnpike:\(acl.consumer):\(acl.group)"
            )
        }
    }

    /// Kong's basic-auth storage form: SHA-1 hex of `password .. consumer_id`.
    static func basicAuthDigest(password: String, consumer: EntityID) -> String {
        BasicAuthCredential.digest(password: password, consumer: consumer)
    }
}
