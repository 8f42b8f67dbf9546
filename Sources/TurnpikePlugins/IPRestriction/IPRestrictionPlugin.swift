import TurnpikeModel

/// Kong's ip-restriction (kong/plugins/ip-restriction/handler.lua): the deny list first, then the
/// allow list must match; the client address is the connection's peer.
public struct IPRestrictionPlugin: Plugin, AccessHandler {
    public static let name = "ip-restriction"
    public static let priority = 990
    public typealias Config = IPRestrictionConfig

    public let config: IPRestrictionConfig
    public var name: String { Self.name }

    public init(config: IPRestrictionConfig) {
        self.config = config
    }

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        let client = context.request.clientAddress
        guard let address = IPRange.bytes(client) else {
            return .respond(
                LocalResponse(
                    status: 403,
                    message: "Cannot identify the client IP address, unix domain sockets are not supported."
                )
            )
        }
        if self.config.denyRanges.contains(where: { $0.contains(address) }) { return self.reject(client) }
        if !self.config.allowRanges.isEmpty, !self.config.allowRanges.contains(where: { $0.contains(address) }) {
            return self.reject(client)
        }
        return .proceed
    }

    private func reject(_ client: String) -> AccessOutcome {
        .respond(
            LocalResponse(
                status: self.config.status ?? 403,
                message: self.config.message ?? "IP address not allowed: \(client)"
            )
        )
    }
}
