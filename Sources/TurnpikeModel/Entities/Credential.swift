/// A kind of entity a plugin keeps per consumer: Kong's `keyauth_credentials`,
/// `basicauth_credentials`, `jwt_secrets`, `hmacauth_credentials`, `acls`.
///
/// The plugin's folder defines the kind (its own fields, how they decode, render and are
/// indexed) and the plugin registry lists it once. Everything the kinds share is done here and in
/// the generic code around `Credential`: nesting under a consumer or a top-level `consumer`
/// reference, ids, uniqueness, `render`, the admin API, reload change counts, and the per-snapshot
/// index plugins read at request time.
public protocol CredentialKind: Sendable, Equatable {
    /// What a snapshot builds once from every credential of the kind, for the plugin's lookups.
    associatedtype Index: Sendable

    /// The declarative collection, also the key under a consumer: `keyauth_credentials`.
    static var collection: String { get }
    /// The admin API collection (`key-auths`) and its name under a consumer (`key-auth`), as in
    /// Kong's `kong/plugins/<name>/daos.lua` (`admin_api_name`, `admin_api_nested_name`).
    static var adminCollection: String { get }
    static var adminNestedCollection: String { get }
    /// The field the admin API can address an entity by besides its id (Kong's `endpoint_key`).
    static var endpointKey: String? { get }
    /// Fields whose values may appear once: in the whole collection, or once per consumer.
    static var uniqueFields: [CredentialUniqueField<Self>] { get }

    /// Reads the kind's own fields. The fields every credential has (`id`, `consumer`, `tags`,
    /// `created_at`, `updated_at`) are read by the caller, which also reports unknown fields.
    /// Problems go to the record's diagnostics; a missing required field still yields a value
    /// (empty), so later checks of the same run see the entity.
    static func decode(_ record: inout Record) -> Self

    /// Builds the snapshot's index over the credentials of the kind, in file order.
    static func index(_ credentials: [Credential<Self>]) -> Index

    /// Where the id of a credential without one comes from (its consumer is known by then).
    func derivedID(consumer: EntityID) -> CredentialIDSource
    /// Runs once the consumer is resolved and the credential's id known (basic-auth hashes its
    /// password with the consumer id; jwt derives a missing key from the id).
    /// `transform` is the file's `_transform` (false: secrets are stored forms already).
    mutating func link(id: EntityID, consumer: EntityID, transform: Bool)
    /// The kind's own fields for `render` and `GET /config`, in Kong's order, secrets redacted.
    func renderedFields() -> [(String, Rendered)]
    /// The same for the admin API (where a secret may show as a short digest).
    func adminFields() -> [(String, Rendered)]
    /// The value of `endpointKey`.
    var endpointValue: String? { get }
}

extension CredentialKind {
    public static var endpointKey: String? { nil }
    public static var uniqueFields: [CredentialUniqueField<Self>] { [] }
    public func derivedID(consumer: EntityID) -> CredentialIDSource { .ordinal }
    public mutating func link(id: EntityID, consumer: EntityID, transform: Bool) {}
    public func adminFields() -> [(String, Rendered)] { self.renderedFields() }
    public var endpointValue: String? { nil }
}

/// How a credential without an explicit id gets one, so ids stay the same across reloads.
public enum CredentialIDSource: Sendable {
    /// uuid5 of this text in the collection's namespace.
    case name(String)
    /// uuid5 of the consumer id and the credential's ordinal among that consumer's credentials
    /// of the kind: for kinds whose fields are secrets, which must not go into an id.
    case ordinal
}

/// Where a unique field's values may not repeat.
public enum CredentialUniqueScope: Sendable {
    /// Anywhere in the collection (a key-auth key).
    case collection
    /// Among one consumer's credentials of the kind (an ACL group).
    case consumer
}

/// A field that must be unique, with how a clash is reported.
public struct CredentialUniqueField<Kind: CredentialKind>: Sendable {
    public var field: String
    public var scope: CredentialUniqueScope
    /// Secret values are never printed: the message shows `<redacted>`.
    public var secret: Bool
    public var value: @Sendable (Kind) -> String?

    public init(
        _ field: String,
        scope: CredentialUniqueScope = .collection,
        secret: Bool = false,
        value: @escaping @Sendable (Kind) -> String?
    ) {
        self.field = field
        self.scope = scope
        self.secret = secret
        self.value = value
    }
}

/// One credential: the fields every kind has, and the kind's own (read through dynamic member
/// lookup: `credential.key`).
@dynamicMemberLookup
public struct Credential<Kind: CredentialKind>: Sendable {
    // The kind's fields last: the common ones then sit at fixed offsets, which generic code
    // (the decoder, the admin API) reads without asking the kind's layout.
    public var id: EntityID
    public var consumer: EntityID
    public var tags: [String]?
    public var location: SourceLocation
    public var fieldPath: FieldPath
    public var fields: Kind

    public init(
        id: EntityID,
        consumer: EntityID,
        fields: Kind,
        tags: [String]? = nil,
        location: SourceLocation,
        path: FieldPath
    ) {
        self.id = id
        self.consumer = consumer
        self.fields = fields
        self.tags = tags
        self.location = location
        self.fieldPath = path
    }

    /// For reading code; code that runs per request or per credential at load reads
    /// `fields.x` directly (a key path is applied at run time when not inlined).
    @inlinable
    public subscript<T>(dynamicMember keyPath: KeyPath<Kind, T>) -> T {
        self.fields[keyPath: keyPath]
    }

    /// Same id, consumer, fields and tags (reload change counts).
    public func sameContent(as other: Self) -> Bool {
        self.consumer == other.consumer && self.fields == other.fields && self.tags == other.tags
    }

    /// The flat declarative form (`render`, `GET /config`), secrets redacted.
    public func rendered() -> Rendered {
        self.render(self.fields.renderedFields())
    }

    /// The flat form with the kind's admin fields (the admin API adds its own shape around it).
    public func adminRendered() -> Rendered {
        self.render(self.fields.adminFields())
    }

    private func render(_ own: [(String, Rendered)]) -> Rendered {
        .object([("id", .id(self.id)), ("consumer", .id(self.consumer))] + own + [("tags", .strings(self.tags))])
    }
}

/// Comparisons of secrets that take a time depending on the lengths only, never on where the
/// bytes first differ.
public enum ConstantTime {
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in Self.equal(x, y) } }
    }

    public static func equal(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { x in b.withUTF8 { y in Self.equal(x, y) } }
    }

    static func equal(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Bool {
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<x.count { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}
