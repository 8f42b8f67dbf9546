public import TurnpikeModel

/// An ACL group membership's own fields (`acls`, kong/plugins/acl/daos.lua).
public struct ACLGroup: CredentialKind {
    public var group: String

    public init(group: String) {
        self.group = group
    }

    public static let collection = "acls"
    public static let adminCollection = "acls"
    public static let adminNestedCollection = "acls"
    public static let uniqueFields = [CredentialUniqueField<Self>("group", scope: .consumer) { $0.group }]

    public static func decode(_ record: inout Record) -> ACLGroup {
        ACLGroup(group: record.string("group", required: true) ?? "")
    }

    public func derivedID(consumer: EntityID) -> CredentialIDSource { .name("turnpike:\(consumer):\(self.group)") }

    public func renderedFields() -> [(String, Rendered)] { [("group", .string(self.group))] }

    /// Each consumer's groups, in file order.
    public struct Index: Sendable {
        let groupsByConsumer: [EntityID: [String]]

        public func groups(consumer: EntityID) -> [String] { self.groupsByConsumer[consumer] ?? [] }
    }

    public static func index(_ credentials: [Credential<ACLGroup>]) -> Index {
        var groups: [EntityID: [String]] = [:]
        for i in credentials.indices {
            groups[credentials[i].consumer, default: []].append(credentials[i].fields.group)
        }
        return Index(groupsByConsumer: groups)
    }
}
