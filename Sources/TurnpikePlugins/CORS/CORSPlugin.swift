import TurnpikeModel
import TurnpikeRegex

/// Kong's cors (kong/plugins/cors/handler.lua). Runs before authentication (priority 2000).
/// - access: a preflight (`OPTIONS` with an `Origin` and `Access-Control-Request-Method`) is
///   answered 200 with the CORS headers, unless `preflight_continue` sends it upstream (then no
///   CORS header is added to its answer).
/// - response: every other answer gets `Access-Control-Allow-Origin` (and `Vary: Origin`,
///   `Access-Control-Allow-Credentials`, `Access-Control-Expose-Headers`) by the same rules;
///   without an `Origin`, only when `allow_origin_absent`.
public struct CORSPlugin: Plugin, AccessHandler, ResponseHandler {
    public static let name = "cors"
    public static let priority = 2000
    public static let allowsConsumerScope = false
    public typealias Config = CORSConfig

    public let config: CORSConfig
    /// Made once: the preflight's methods and headers lines.
    let methodsValue: String
    let headersValue: String?
    let exposedValue: String?
    let maxAgeValue: String?
    /// The response phase's headers where they depend on nothing but the origin, made once:
    /// `anyOrigin` when the origin does not matter (one configured origin, or all without
    /// credentials), else by each configured plain origin sent as it is.
    let anyOrigin: Answer?
    let byOrigin: [(origin: String, answer: Answer)]
    public var name: String { Self.name }

    struct Answer {
        let headers: [(name: String, value: String)]
        let names: [String]
        let varyOrigin: Bool

        init?(_ headers: Headers) {
            guard !headers.entries.contains(where: { $0.value == nil }) else { return nil }
            self.headers = headers.list
            self.names = self.headers.map(\.name)
            self.varyOrigin = headers.varyOrigin
        }
    }

    static let varyOrigin = [(name: "Vary", value: "Origin")]

    public init(config: CORSConfig) {
        self.config = config
        self.methodsValue = config.methods.joined(separator: ",")
        self.headersValue = config.headers.flatMap { $0.isEmpty ? nil : $0.joined(separator: ",") }
        self.exposedValue = config.exposedHeaders.flatMap { $0.isEmpty ? nil : $0.joined(separator: ",") }
        self.maxAgeValue = config.maxAge.map(LuaNumber.text)
        var anyOrigin: Answer?
        var byOrigin: [(origin: String, answer: Answer)] = []
        switch config.compiled {
        case .single:
            anyOrigin = Self.answer(config, self.exposedValue, origin: nil)
        case .allowAll where !config.credentials:
            anyOrigin = Self.answer(config, self.exposedValue, origin: nil)
        case .list(let matchers, containsStar: false):
            for case .domain(let domain) in matchers where CORSOrigins.normalize(domain).domain == domain {
                // An origin sent exactly as configured normalizes to itself: its answer is fixed.
                if let answer = Self.answer(config, self.exposedValue, origin: domain) {
                    byOrigin.append((domain, answer))
                }
            }
        default:
            break
        }
        self.anyOrigin = anyOrigin
        self.byOrigin = byOrigin
    }

    /// What the response phase sets for `origin`, the way `response` works it out.
    static func answer(_ config: CORSConfig, _ exposed: String?, origin: String?) -> Answer? {
        var headers = Headers(vary: .add)
        let allowAll = Self.configureOrigin(config, origin, into: &headers)
        Self.configureCredentials(config, allowAll: allowAll, origin: origin, into: &headers)
        if let exposed { headers.set("Access-Control-Expose-Headers", exposed) }
        return Answer(headers)
    }

    /// Only preflights concern the access phase.
    public var accessMethods: Set<String>? { Self.preflightMethods }
    static let preflightMethods: Set<String>? = ["OPTIONS"]

    public func access(_ context: inout AccessContext, directory: any CredentialDirectory) -> AccessOutcome {
        let request = context.request
        guard request.method == "OPTIONS", let origin = request.header("origin"), !origin.isEmpty,
            request.header("access-control-request-method") != nil
        else { return .proceed }
        // The preflight's answer carries its own headers (or the upstream's, with preflight_continue).
        context.plugins[plugin: Self.name]["skip"] = true
        if self.config.preflightContinue { return .proceed }
        var headers = Headers(vary: .set)
        let allowAll = Self.configureOrigin(self.config, origin, into: &headers)
        Self.configureCredentials(self.config, allowAll: allowAll, origin: origin, into: &headers)
        if let value = self.headersValue {
            headers.set("Access-Control-Allow-Headers", value)
        } else if let requested = request.header("access-control-request-headers") {
            headers.set("Access-Control-Allow-Headers", requested)
        }
        headers.set("Access-Control-Allow-Methods", self.methodsValue)
        if let maxAge = self.maxAgeValue { headers.set("Access-Control-Max-Age", maxAge) }
        if self.config.privateNetwork && request.header("access-control-request-private-network") == "true" {
            headers.set("Access-Control-Allow-Private-Network", "true")
        }
        return .respond(LocalResponse(status: 200, headers: headers.list, body: .none))
    }

    public func response(_ context: inout ResponseContext) {
        if context.plugins.value("skip", of: Self.name, as: Bool.self) == true { return }
        let origin = context.requestHeaders.first("origin").flatMap { $0.isEmpty ? nil : $0 }
        if origin == nil && !self.config.allowOriginAbsent { return }
        if let answer = self.anyOrigin ?? origin.flatMap({ o in self.byOrigin.first { $0.origin == o }?.answer }) {
            context.setHeaders(answer.headers, names: answer.names)
            if answer.varyOrigin { context.addHeaders(Self.varyOrigin) }
            return
        }
        var headers = Headers(vary: .add)
        let allowAll = Self.configureOrigin(self.config, origin, into: &headers)
        Self.configureCredentials(self.config, allowAll: allowAll, origin: origin, into: &headers)
        if let exposed = self.exposedValue { headers.set("Access-Control-Expose-Headers", exposed) }
        if !headers.entries.contains(where: { $0.value == nil }) && !context.hasEdits && context.set.isEmpty {
            // The usual case, the first handler to edit: the list goes in as it is.
            context.setHeaders(headers.list)
        } else {
            // A cleared header (no origin matched) removes what the upstream sent.
            for (name, value) in headers.entries { context.setHeader(name, value) }
        }
        if headers.varyOrigin { context.addHeader("Vary", "Origin") }
    }

    /// The headers one pass sets, in order (nil: cleared); `Vary: Origin` is set on a preflight
    /// and added (another line) on other answers, as Kong does.
    struct Headers {
        enum VaryMode { case set, add }
        let vary: VaryMode
        var entries: [(name: String, value: String?)] = []
        var varyOrigin = false

        init(vary: VaryMode) { self.vary = vary }

        mutating func set(_ name: String, _ value: String?) {
            if let i = self.entries.firstIndex(where: { HeaderName.equal($0.name, name) }) {
                self.entries[i].value = value
            } else {
                if self.entries.isEmpty { self.entries.reserveCapacity(4) }
                self.entries.append((name, value))
            }
        }

        mutating func addVary() {
            switch self.vary {
            case .set: self.set("Vary", "Origin")
            case .add: self.varyOrigin = true
            }
        }

        /// For a local answer: cleared headers are simply absent.
        var list: [(name: String, value: String)] { self.entries.compactMap { e in e.value.map { (e.name, $0) } } }
    }

    /// Kong's `configure_origin`; true when every origin is allowed (`*`).
    static func configureOrigin(_ config: CORSConfig, _ origin: String?, into headers: inout Headers) -> Bool {
        switch config.compiled {
        case .allowAll:
            headers.set("Access-Control-Allow-Origin", "*")
            return true
        case .single(let value):
            headers.addVary()
            headers.set("Access-Control-Allow-Origin", value)
            return false
        case .list(let matchers, let containsStar):
            headers.addVary()
            if let origin {
                if containsStar {
                    headers.set("Access-Control-Allow-Origin", "*")
                    return true
                }
                let normalized = CORSOrigins.normalize(origin)
                let scratch = MatchScratch()
                for matcher in matchers {
                    let found: Bool
                    switch matcher {
                    case .domain(let domain):
                        found = normalized.domain == domain
                    case .regex(let regex, let byHost):
                        var subject = Array((byHost ? normalized.host : normalized.domain).utf8)
                        found = subject.withUnsafeMutableBufferPointer {
                            regex.matches(UnsafeBufferPointer($0), scratch: scratch)
                        }
                    }
                    if found {
                        headers.set("Access-Control-Allow-Origin", normalized.domain)
                        return false
                    }
                }
            }
            headers.set("Access-Control-Allow-Origin", nil)
            return false
        }
    }

    /// Kong's `configure_credentials`: with `*`, the request's own origin is echoed instead.
    static func configureCredentials(
        _ config: CORSConfig,
        allowAll: Bool,
        origin: String?,
        into headers: inout Headers
    ) {
        guard config.credentials else { return }
        guard allowAll else {
            headers.set("Access-Control-Allow-Credentials", "true")
            return
        }
        if let origin {
            headers.addVary()
            headers.set("Access-Control-Allow-Origin", origin)
            headers.set("Access-Control-Allow-Credentials", "true")
        }
    }
}
