public import TurnpikeModel
public import TurnpikePlugins

/// One plugin's slot in a route's chain when the plugin has consumer-scoped instances: the
/// instance that runs depends on the consumer identified by the access phase (Kong looks the
/// config up when the plugin's turn comes, with the consumer known by then). Consumers without an
/// instance of their own get `fallback`, the route's instance without a consumer (or nothing).
/// Built with the snapshot; one dictionary lookup per phase at request time.
///
/// The later phases pick by the request's final consumer. Kong keeps the instance chosen in
/// access; the two agree because every plugin that accepts a consumer scope runs after the
/// authentication plugins (lower priority), so the consumer no longer changes after its turn.
public struct ConsumerScoped<Handler: Sendable>: Sendable {
    public let name: String
    public let fallback: Handler?
    public let byConsumer: [EntityID: Handler]

    init(name: String, fallback: Handler?, byConsumer: [EntityID: Handler]) {
        self.name = name
        self.fallback = fallback
        self.byConsumer = byConsumer
    }

    /// The handler for a request of `consumer` (nil: the plugin does not run for it).
    public func handler(for consumer: EntityID?) -> Handler? {
        if let consumer, let own = self.byConsumer[consumer] { return own }
        return self.fallback
    }
}

extension ConsumerScoped: AccessHandler where Handler == any AccessHandler {
    public var needsBody: Bool {
        (self.fallback?.needsBody ?? false) || self.byConsumer.values.contains { $0.needsBody }
    }

    public var accessMethods: Set<String>? {
        var all = self.fallback.map { $0.accessMethods } ?? Set<String>()
        for handler in self.byConsumer.values {
            guard let methods = handler.accessMethods, all != nil else { return nil }
            all!.formUnion(methods)
        }
        return all
    }

    public var credentialLocations: CredentialLocations {
        var all = self.fallback?.credentialLocations ?? CredentialLocations()
        for handler in self.byConsumer.values { all.formUnion(handler.credentialLocations) }
        return all
    }

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        guard let handler = self.handler(for: context.authentication?.consumer.id) else { return .proceed }
        return handler.access(&context, directory: directory)
    }
}

extension ConsumerScoped: ResponseHandler where Handler == any ResponseHandler {
    public func response(_ context: inout ResponseContext) {
        self.handler(for: context.consumer?.id)?.response(&context)
    }
}

extension ConsumerScoped: BodyHandler where Handler == any BodyHandler {
    public func bodyFilter(for response: ResponseContext) -> (any BodyFilter)? {
        self.handler(for: response.consumer?.id)?.bodyFilter(for: response)
    }
}

extension ConsumerScoped: LogPhaseHandler where Handler == any LogPhaseHandler {
    public func log(_ entry: LogEntry) {
        self.handler(for: entry.consumerID)?.log(entry)
    }
}
