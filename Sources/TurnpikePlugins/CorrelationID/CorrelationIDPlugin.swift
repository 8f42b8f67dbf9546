import Synchronization
import TurnpikeModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Kong's correlation-id (kong/plugins/correlation-id/handler.lua): a request without the header
/// (or with it empty) gets one, generated, on its way upstream; with `echo_downstream` the client
/// gets it back on the answer. Runs before every other plugin (priority 100001), so the id is in
/// every later plugin's view and in the upstream request.
/// - `uuid`: a random UUID per request.
/// - `uuid#counter`: a UUID drawn once per process and a counter (`<uuid>#<n>`), as Kong's per
///   worker.
/// - `tracker`: `<server address>-<server port>-<pid>-<connection>-<requests on it>-<time>`.
public struct CorrelationIDPlugin: Plugin, AccessHandler, ResponseHandler {
    public static let name = "correlation-id"
    public static let priority = 100_001
    public typealias Config = CorrelationIDConfig

    public let config: CorrelationIDConfig
    let counter: CorrelationCounter
    public var name: String { Self.name }

    public init(config: CorrelationIDConfig, stores: PluginStores) {
        self.config = config
        self.counter = stores.store("correlation-id.counter") { CorrelationCounter() }
    }

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        var id = context.request.headers.lookup(self.config.headerName)
        if id?.isEmpty ?? true {
            let made = self.generate(context.request)
            context.edits.setHeader(self.config.headerName, made)
            id = made
        }
        // Kept for the response phase (`echo_downstream`) and the log entry (Kong's
        // `set_serialize_value("correlation_id", …)`, whatever `echo_downstream` says).
        if let id { context.plugins[plugin: Self.name]["id"] = id }
        return .proceed
    }

    public func response(_ context: inout ResponseContext) {
        guard self.config.echoDownstream else { return }
        // Access leaves the id when it ran; a global instance on the router's 404 did not run it:
        // the request's own header, else a fresh id, as Kong's header_filter does.
        let id: String
        if let kept = context.plugins.value("id", of: Self.name, as: String.self) {
            id = kept
        } else if let incoming = context.requestHeaders.lookup(self.config.headerName), !incoming.isEmpty {
            id = incoming
        } else {
            id = self.generate(nil)
        }
        context.setHeader(self.config.headerName, id)
    }

    func generate(_ request: AccessRequest?) -> String {
        switch self.config.generator {
        case "uuid":
            return EntityID.random().description
        case "tracker":
            let c = request?.connection ?? ConnectionFacts()
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            let millis = Int(now.tv_nsec) / 1_000_000
            let fraction = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
            return
                "\(c.serverAddress)-\(c.serverPort)-\(GatewayNode.pid)-\(c.serial)-\(c.requests)-\(now.tv_sec).\(fraction)"
        default:
            return self.counter.next()
        }
    }
}

/// `uuid#counter`'s state: one UUID for the process and one counter, shared by every instance
/// (Kong keeps them per worker).
final class CorrelationCounter: PluginStore {
    let prefix: String
    private let count = Atomic<Int>(0)

    init() {
        self.prefix = EntityID.random().description + "#"
    }

    func next() -> String {
        self.prefix + String(self.count.wrappingAdd(1, ordering: .relaxed).newValue)
    }
}
