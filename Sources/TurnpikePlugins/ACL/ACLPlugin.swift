import TurnpikeModel

/// Kong's acl: allow or deny consumers by group, after authentication (kong/plugins/acl/handler.lua).
public struct ACLPlugin: Plugin, AccessHandler {
    public static let name = "acl"
    public static let priority = 950
    public static let allowsConsumerScope = false
    public typealias Config = ACLConfig

    public let config: ACLConfig
    public var name: String { Self.name }

    public init(config: ACLConfig) {
        self.config = config
    }

    static let forbidden = "You cannot consume this service"

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        guard let authentication = context.authentication else {
            return .respond(LocalResponse(status: 401, message: "Unauthorized"))
        }
        let groups = directory.credentials(ACLGroup.self)?.groups(consumer: authentication.consumer.id) ?? []
        let allowed: Bool
        if let allow = self.config.allow, !allow.isEmpty {
            if groups.isEmpty {
                // The anonymous consumer (no credential) without groups is unauthenticated, not forbidden.
                return .respond(
                    authentication.credentialID == nil
                        ? LocalResponse(status: 401, message: "Unauthorized")
                        : LocalResponse(status: 403, message: Self.forbidden)
                )
            }
            allowed = groups.contains { allow.contains($0) }
        } else {
            allowed = !groups.contains { self.config.deny?.contains($0) ?? false }
        }
        guard allowed else { return .respond(LocalResponse(status: 403, message: Self.forbidden)) }
        if !self.config.hideGroupsHeader {
            context.edits.setHeader("X-Consumer-Groups", groups.isEmpty ? nil : groups.joined(separator: ", "))
        }
        return .proceed
    }
}
