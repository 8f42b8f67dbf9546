/// The decoder's side of one credential kind: reads entities (nested under a consumer or
/// top-level), resolves their consumer, assigns ids and checks uniqueness. One per registered
/// kind; the kind itself only reads its own fields.
protocol CredentialReading: AnyObject {
    var collection: String { get }
    func read(_ node: ConfigNode, path: FieldPath, parent: Parent?, decoder: DeclarativeDecoder)
    /// Resolves top-level `consumer` references.
    func link(_ resolve: (Reference) -> EntityID?)
    /// Gives every credential without an explicit id its derived id, and lets the kind finish
    /// what needed the consumer id.
    func assignIDs(transform: Bool)
    func checkUniqueness(_ scope: CredentialUniqueScope, flagged: inout Set<String>, diagnostics: Diagnostics)
    func checkIDs(flagged: inout Set<String>, diagnostics: Diagnostics)
    func store(into sets: inout CredentialSets)
}

final class CredentialReader<Kind: CredentialKind>: CredentialReading {
    var items: [Credential<Kind>] = []
    /// Credentials whose id the file gave (they keep it).
    var explicitIDs = Set<Int>()
    /// Top-level credentials and the consumer they name, resolved once every consumer is known.
    var pending: [(index: Int, reference: Reference)] = []

    var collection: String { Kind.collection }

    func read(_ node: ConfigNode, path: FieldPath, parent: Parent?, decoder: DeclarativeDecoder) {
        guard var r = Record(node, path: path, diagnostics: decoder.diagnostics) else { return }
        r.extras()
        decoder.skipTimestamps(&r)
        let explicitID = decoder.readID(&r)
        var consumerRef: Reference?
        if let parent {
            decoder.checkRestatedParent(&r, parent: parent)
        } else {
            consumerRef = decoder.readReference(&r, key: "consumer", required: true)
        }
        let fields = Kind.decode(&r)
        let tags = decoder.readTags(&r)
        r.finish(allowExtras: true)

        let index = self.items.count
        if explicitID != nil { self.explicitIDs.insert(index) }
        self.items.append(
            Credential(
                id: explicitID ?? .zero,
                consumer: parent?.id ?? .zero,
                fields: fields,
                tags: tags,
                location: node.location,
                path: path
            )
        )
        if let consumerRef { self.pending.append((index, consumerRef)) }
    }

    func link(_ resolve: (Reference) -> EntityID?) {
        for (index, reference) in self.pending {
            self.items[index].consumer = resolve(reference) ?? .zero
        }
        self.pending = []
    }

    func assignIDs(transform: Bool) {
        let namespace = DeclarativeIDs.namespace(Kind.collection)
        var ordinals: [EntityID: Int] = [:]
        // Through a buffer pointer: this code is not specialized for the kind, and `items[i].x`
        // would copy the whole credential to read one field (100,000 credentials are common).
        self.items.withUnsafeMutableBufferPointer { items in
            for i in items.indices {
                let consumer = items[i].consumer
                if !self.explicitIDs.contains(i) {
                    switch items[i].fields.derivedID(consumer: consumer) {
                    case .name(let text):
                        items[i].id = EntityID.v5(namespace: namespace, name: text)
                    case .ordinal:
                        let n = ordinals[consumer, default: 0]
                        ordinals[consumer] = n + 1
                        // uuid5 over the consumer id's 16 bytes and the ordinal: no strings for 100k credentials.
                        items[i].id = withUnsafeBytes(
                            of: (consumer.high.bigEndian, consumer.low.bigEndian, UInt64(n).bigEndian)
                        ) { EntityID.v5(namespace: namespace, bytes: $0) }
                    }
                }
                items[i].fields.link(id: items[i].id, consumer: consumer, transform: transform)
            }
        }
    }

    /// Kong's uniqueness rules; the error goes to the second occurrence, one error per entity.
    func checkUniqueness(
        _ scope: CredentialUniqueScope,
        flagged: inout Set<String>,
        diagnostics: Diagnostics
    ) {
        for unique in Kind.uniqueFields where unique.scope == scope {
            var seen = Set<String>(minimumCapacity: self.items.count)
            self.items.withUnsafeBufferPointer { items in
                for i in items.indices {
                    guard let value = unique.value(items[i].fields) else { continue }
                    let key = scope == .consumer ? "\(items[i].consumer):\(value)" : value
                    guard !seen.insert(key).inserted, flagged.insert(items[i].fieldPath.text).inserted else {
                        continue
                    }
                    let shown = unique.secret ? "<redacted>" : Record.printable(value)
                    let suffix = scope == .consumer ? " for this consumer" : ""
                    diagnostics.add(
                        "uniqueness violation: '\(Kind.collection)' entity with \(unique.field) set to '\(shown)' already declared\(suffix)",
                        at: items[i].location,
                        path: items[i].fieldPath.text
                    )
                }
            }
        }
    }

    func checkIDs(flagged: inout Set<String>, diagnostics: Diagnostics) {
        var seen = Set<EntityID>(minimumCapacity: self.items.count)
        self.items.withUnsafeBufferPointer { items in
            for i in items.indices where !seen.insert(items[i].id).inserted {
                guard flagged.insert(items[i].fieldPath.text).inserted else { continue }
                diagnostics.add(
                    "uniqueness violation: '\(Kind.collection)' entity with primary key set to '\(items[i].id)' already declared",
                    at: items[i].location,
                    path: items[i].fieldPath.text
                )
            }
        }
    }

    func store(into sets: inout CredentialSets) {
        sets[Kind.self] = self.items
    }
}

extension CredentialKind {
    /// The decoder's reader for this kind.
    static func makeReader() -> any CredentialReading { CredentialReader<Self>() }
}
