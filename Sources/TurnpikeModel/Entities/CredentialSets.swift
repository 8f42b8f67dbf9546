/// One kind's credentials seen without their kind: what `render`, the admin API, reload change
/// counts and the snapshot builder need, the same for every kind.
public protocol CredentialList: Sendable {
    var kind: any CredentialKind.Type { get }
    var count: Int { get }
    func id(at index: Int) -> EntityID
    func consumer(at index: Int) -> EntityID
    func endpointValue(at index: Int) -> String?
    func rendered(at index: Int) -> Rendered
    func adminRendered(at index: Int) -> Rendered
    /// Added, removed and changed credentials against the same kind in an older config.
    func changes(since old: (any CredentialList)?) -> (added: Int, removed: Int, changed: Int)
    /// Builds the kind's index (boxed for `CredentialIndexes`).
    func buildIndex() -> CredentialIndexes.Entry
}

/// The credentials of one kind, in file order (nested ones first, in consumer order).
public struct CredentialCollection<Kind: CredentialKind>: CredentialList {
    public var items: [Credential<Kind>] = []

    public init(_ items: [Credential<Kind>] = []) {
        self.items = items
    }

    public var kind: any CredentialKind.Type { Kind.self }
    public var count: Int { self.items.count }
    // Through buffer pointers: this code is not specialized for the kind, and `items[i].x`
    // would copy the whole credential to read one field.
    public func id(at index: Int) -> EntityID { self.items.withUnsafeBufferPointer { $0[index].id } }
    public func consumer(at index: Int) -> EntityID { self.items.withUnsafeBufferPointer { $0[index].consumer } }
    public func endpointValue(at index: Int) -> String? {
        self.items.withUnsafeBufferPointer { $0[index].fields.endpointValue }
    }
    public func rendered(at index: Int) -> Rendered { self.items.withUnsafeBufferPointer { $0[index].rendered() } }
    public func adminRendered(at index: Int) -> Rendered {
        self.items.withUnsafeBufferPointer { $0[index].adminRendered() }
    }

    public func changes(since old: (any CredentialList)?) -> (added: Int, removed: Int, changed: Int) {
        let old = (old as? Self)?.items ?? []
        var byID: [EntityID: Int] = [:]
        byID.reserveCapacity(old.count)
        var added = 0
        var changed = 0
        var kept = 0
        old.withUnsafeBufferPointer { before in
            for i in before.indices { byID[before[i].id] = i }
            self.items.withUnsafeBufferPointer { after in
                for j in after.indices {
                    if let i = byID[after[j].id] {
                        kept += 1
                        if !before[i].sameContent(as: after[j]) { changed += 1 }
                    } else {
                        added += 1
                    }
                }
            }
        }
        return (added, old.count - kept, changed)
    }

    public func buildIndex() -> CredentialIndexes.Entry {
        CredentialIndexes.Entry(CredentialIndexBox<Kind>(Kind.index(self.items)))
    }
}

/// Every credential of a config, one list per kind the plugin registry declares, in that order.
public struct CredentialSets: Sendable {
    public private(set) var lists: [any CredentialList]

    /// Empty lists for `kinds` (the registry's order is the order of `render`).
    public init(kinds: [any CredentialKind.Type] = []) {
        self.lists = kinds.map { Self.emptyList($0) }
    }

    private static func emptyList<K: CredentialKind>(_: K.Type) -> any CredentialList {
        CredentialCollection<K>()
    }

    public var kinds: [any CredentialKind.Type] { self.lists.map(\.kind) }
    public var isEmpty: Bool { self.lists.allSatisfy { $0.count == 0 } }

    /// The credentials of `kind`; empty when the kind is not registered. Setting a kind that is
    /// not registered adds it.
    public subscript<K: CredentialKind>(_ kind: K.Type) -> [Credential<K>] {
        get {
            for list in self.lists {
                if let typed = list as? CredentialCollection<K> { return typed.items }
            }
            return []
        }
        set {
            for i in self.lists.indices where ObjectIdentifier(self.lists[i].kind) == ObjectIdentifier(K.self) {
                self.lists[i] = CredentialCollection<K>(newValue)
                return
            }
            self.lists.append(CredentialCollection<K>(newValue))
        }
    }

    /// The list whose declarative collection is `collection`.
    public func list(collection: String) -> (any CredentialList)? {
        self.lists.first { $0.kind.collection == collection }
    }

    /// The list the admin API calls `name` (`key-auths`).
    public func list(adminCollection name: String) -> (any CredentialList)? {
        self.lists.first { $0.kind.adminCollection == name }
    }
}

/// A built index, boxed so a snapshot can hold indexes of every kind side by side.
public final class CredentialIndexBox<Kind: CredentialKind>: Sendable {
    public let index: Kind.Index

    public init(_ index: Kind.Index) {
        self.index = index
    }
}

/// The per-snapshot indexes of every credential kind. A lookup scans a handful of entries and
/// unboxes without a dynamic cast: cheap enough for every request.
public struct CredentialIndexes: Sendable {
    public struct Entry: Sendable {
        let kind: ObjectIdentifier
        let box: any AnyObject & Sendable

        public init<K: CredentialKind>(_ box: CredentialIndexBox<K>) {
            self.kind = ObjectIdentifier(K.self)
            self.box = box
        }
    }

    private let entries: [Entry]

    public init(_ entries: [Entry] = []) {
        self.entries = entries
    }

    /// Builds every index, one after the other.
    public init(building sets: CredentialSets) {
        self.entries = sets.lists.map { $0.buildIndex() }
    }

    public func index<K: CredentialKind>(_ kind: K.Type) -> K.Index? {
        let wanted = ObjectIdentifier(kind)
        for entry in self.entries where entry.kind == wanted {
            // An entry filed under K holds a CredentialIndexBox<K>: Entry's only initializer
            // takes the kind from the box.
            return unsafeDowncast(entry.box, to: CredentialIndexBox<K>.self).index
        }
        return nil
    }
}
